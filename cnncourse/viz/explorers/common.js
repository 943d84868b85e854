// Helpers shared by every explorer. This file is inlined, with one explorer's script, inside a
// function scope: nothing here becomes a global of the page.

// Build the explorer inside its root <div>, then remove the static fallback picture (it stays
// if this fails, and wherever scripts do not run).
function startExplorer(id, main) {
  var root = document.getElementById(id);
  if (!root || root.getAttribute("data-started")) return;
  root.setAttribute("data-started", "1");
  var data = JSON.parse(root.querySelector("script.cnnx-data").textContent);
  var app = el("div", {"class": "cnnx-app"});
  root.appendChild(app);
  try {
    main(app, data);
  } catch (error) {
    root.removeChild(app);
    throw error;
  }
  root.classList.add("cnnx-live");
  Array.prototype.forEach.call(root.querySelectorAll(".cnnx-fallback, .cnnx-fallback-note"),
                               function (node) { root.removeChild(node); });
}

// el("p", {"class": "x", onclick: f}, ["text", child]) -> a new element.
function el(tag, attributes, children) {
  var node = document.createElement(tag);
  var name;
  for (name in attributes || {}) {
    if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), attributes[name]);
    else if (attributes[name] !== null && attributes[name] !== undefined) {
      node.setAttribute(name, attributes[name]);
    }
  }
  (children || []).forEach(function (child) {
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// Base64 text of int8 or uint8 values (Python's `encode_bytes`) -> typed array.
function decodeBytes(text, signed) {
  var raw = atob(text);
  var bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return signed ? new Int8Array(bytes.buffer) : bytes;
}

// Fixed decimals, with no "-0.00".
function fmt(value, digits) {
  var text = value.toFixed(digits);
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

// A labelled range slider; onChange(value) runs on every input event.
function slider(label, role, min, max, value, onChange) {
  var input = el("input", {type: "range", min: min, max: max, step: 1, value: value,
                           "data-role": role});
  var shown = el("output", {}, [String(value)]);
  input.addEventListener("input", function () {
    shown.textContent = input.value;
    onChange(Number(input.value));
  });
  var wrap = el("label", {"class": "cnnx-control"}, [label + " ", input, " ", shown]);
  return {wrap: wrap, input: input, shown: shown};
}

// A canvas of rows x cols cells drawn `cell` CSS pixels wide (sharp on high-density screens);
// its CSS width follows the page (max-width 100%), so it shrinks on a phone.
function cellCanvas(role, label) {
  return el("canvas", {"class": "cnnx-canvas", "data-role": role, tabindex: "0",
                       role: "img", "aria-label": label});
}

function sizeCanvas(canvas, rows, cols, cell) {
  var ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(cols * cell * ratio);
  canvas.height = Math.round(rows * cell * ratio);
  canvas.style.width = cols * cell + "px";
  var context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  return context;
}

// Cell (row, col) under a mouse or touch event on a canvas of rows x cols cells.
function cellAt(canvas, event, rows, cols) {
  var box = canvas.getBoundingClientRect();
  var col = Math.floor((event.clientX - box.left) / box.width * cols);
  var row = Math.floor((event.clientY - box.top) / box.height * rows);
  if (row < 0 || col < 0 || row >= rows || col >= cols) return null;
  return {row: row, col: col};
}

// Select cells of a canvas by pointer (hover, click or tap) and by the arrow keys.
// size() -> {rows, cols}; current() -> {row, col}; select(row, col) redraws.
function selectableCells(canvas, size, current, select, hover) {
  function pick(event) {
    var shape = size();
    var cell = cellAt(canvas, event, shape.rows, shape.cols);
    if (cell) select(cell.row, cell.col);
  }
  if (hover) canvas.addEventListener("pointermove", pick);
  canvas.addEventListener("pointerdown", pick);
  canvas.addEventListener("keydown", function (event) {
    var steps = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
    var step = steps[event.key];
    if (!step) return;
    event.preventDefault();
    var shape = size();
    var at = current();
    select(Math.min(Math.max(at.row + step[0], 0), shape.rows - 1),
           Math.min(Math.max(at.col + step[1], 0), shape.cols - 1));
  });
}

// Signed colour map (red positive, blue negative, white zero) from the package's 256-entry
// lookup table; extent is the |value| drawn at full colour.
function signedColour(table, value, extent) {
  var t = extent > 0 ? (value / extent + 1) / 2 : 0.5;
  var index = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
  return [table[index], table[index + 1], table[index + 2]];
}

function rgb(triple) {
  return "rgb(" + triple[0] + "," + triple[1] + "," + triple[2] + ")";
}

// Relative luminance of an sRGB colour (WCAG 2.1).
function luminance(triple) {
  var channels = triple.map(function (c) {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
}

// The text colour, black or white, that contrasts more with a background colour: the better
// of the two always reaches 4.58:1 (WCAG AA asks 4.5:1), near-black would not.
function textColourOn(triple) {
  var L = luminance(triple);
  return (L + 0.05) / 0.05 >= 1.05 / (L + 0.05) ? "#000000" : "#ffffff";
}

// A small matrix of numbers (rows of values), optionally coloured by a signed colour map.
// Its rows and columns have headers for screen readers ("row 1", "column 1"), hidden on screen.
function numberTable(rows, digits, role, table, extent) {
  var hidden = function (tag, text, scope) {
    return el(tag, {scope: scope}, [el("span", {"class": "cnnx-visually-hidden"}, [text])]);
  };
  var head = el("tr", {"class": "cnnx-hidden-row"}, [hidden("td", "", null)].concat(
    (rows[0] || []).map(function (_, v) { return hidden("th", "column " + (v + 1), "col"); })));
  return el("table", {"class": "cnnx-numbers", "data-role": role}, [head].concat(
    rows.map(function (row, u) {
      return el("tr", {}, [hidden("th", "row " + (u + 1), "row")].concat(row.map(
        function (value) {
          var colour = table ? signedColour(table, value, extent) : null;
          var style = colour ? "background:" + rgb(colour) + ";color:" + textColourOn(colour) :
                      null;
          return el("td", {style: style}, [fmt(value, digits)]);
        })));
    })));
}

// Counts the redraws, so tests and the benchmark can tell when the display has been updated.
function markUpdated(app) {
  app.setAttribute("data-updates", String(Number(app.getAttribute("data-updates") || 0) + 1));
}
