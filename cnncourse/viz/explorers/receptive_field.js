// Receptive-field calculator. data.layers: [{kind, kernel, stride, dilation, size, jump}] as
// cnncourse.arithmetic.receptive_field_table computed them for the first stack; edits recompute
//   r <- r + (k + (k - 1)(d - 1) - 1) j,   j <- j s,   n <- floor((n - ke) / s) + 1 ('valid').

function main(app, data) {
  var limits = data.limits, c = data.colours;
  var state = {
    layers: data.layers.map(function (l) {
      return {kind: l.kind, kernel: l.kernel, stride: l.stride, dilation: l.dilation};
    }),
    input: data.inputSize, level: data.layers.length, unit: null
  };
  var inputSlider = slider("input size n", "input-size", 1, limits.input, state.input,
                           function (value) { state.input = value; update(); });
  var table = el("table", {"class": "cnnx-layers", "data-role": "layers"});
  var addConv = el("button", {type: "button", "data-role": "add-conv"}, ["+ convolution"]);
  var addPool = el("button", {type: "button", "data-role": "add-pool"}, ["+ pooling"]);
  var canvas = cellCanvas("stack", "units of every layer along one axis; choose a unit with " +
                          "the arrow keys (left and right: unit, up and down: layer)");
  var seen = el("p", {"aria-live": "polite"});
  addConv.addEventListener("click", function () { addLayer("conv", 3, 1); });
  addPool.addEventListener("click", function () { addLayer("pool", 2, 2); });

  app.appendChild(el("div", {"class": "cnnx-row"}, [inputSlider.wrap, addConv, addPool]));
  app.appendChild(el("div", {"class": "cnnx-scroll"}, [table]));
  app.appendChild(el("p", {"class": "cnnx-key"}, ["k kernel, s stride, d dilation, size: " +
    "units along one axis, r: receptive field (inputs one unit sees), j: jump (inputs " +
    "between neighbouring units)."]));
  app.appendChild(el("figure", {"class": "cnnx-figure"}, [canvas, el("figcaption", {}, [
    "input at the bottom; the selected unit (teal) and every unit it depends on (navy)"])]));
  app.appendChild(seen);

  canvas.addEventListener("pointerdown", pickUnit);
  canvas.addEventListener("keydown", moveUnit);

  function addLayer(kind, kernel, stride) {
    if (state.layers.length >= limits.layers) return;
    state.layers.push({kind: kind, kernel: kernel, stride: stride, dilation: 1});
    state.level = state.layers.length;
    state.unit = null;
    update();
  }

  // Receptive field, jump and output size after each layer; error names a layer that does not fit.
  function computeRows() {
    var r = 1, j = 1, n = state.input, rows = [], error = null;
    state.layers.forEach(function (l, index) {
      var ke = l.kernel + (l.kernel - 1) * (l.dilation - 1);
      r += (ke - 1) * j;
      j *= l.stride;
      if (!error && ke > n) {
        error = "Layer " + (index + 1) + ": its kernel (effective size " + ke + ") is larger " +
                "than its input (" + n + "); make the input larger or the stack smaller.";
      }
      n = error ? 0 : Math.floor((n - ke) / l.stride) + 1;
      rows.push({size: r, jump: j, output: n, effective: ke});
    });
    return {rows: rows, error: error};
  }

  function numberBox(index, name, max, disabled) {
    var box = el("input", {type: "number", min: 1, max: max, step: 1,
                           value: state.layers[index][name], "data-col": name,
                           "aria-label": name + " of layer " + (index + 1)});
    box.disabled = !!disabled;
    box.addEventListener("change", function () {
      var value = Math.round(Number(box.value));
      var ok = isFinite(value) && value >= 1 && value <= max;
      box.setAttribute("aria-invalid", ok ? "false" : "true");
      if (!ok) return;
      state.layers[index][name] = value;
      state.unit = null;
      update();
    });
    return box;
  }

  function kindMenu(index) {
    var menu = el("select", {"data-col": "kind", "aria-label": "kind of layer " + (index + 1)},
                  [el("option", {value: "conv"}, ["conv"]), el("option", {value: "pool"},
                                                              ["pool"])]);
    menu.value = state.layers[index].kind;
    menu.addEventListener("change", function () {
      state.layers[index].kind = menu.value;
      if (menu.value === "pool") state.layers[index].dilation = 1;
      update();
    });
    return menu;
  }

  // The table is built once per number of layers and then updated in place, so that a box
  // being edited (and the keyboard focus in it) survives every recomputation.
  function buildTable(result) {
    if (table.querySelectorAll("[data-role=layer-row]").length !== state.layers.length) {
      buildRows();
    }
    var inputCells = table.querySelector("[data-role=input-row]").children;
    inputCells[2].textContent = String(state.input);
    state.layers.forEach(function (layer, index) {
      var row = result.rows[index];
      var cells = table.querySelector("[data-role=layer-row][data-index='" + index + "']");
      cells.querySelector("[data-col=kind]").value = layer.kind;
      ["kernel", "stride", "dilation"].forEach(function (name) {
        var box = cells.querySelector("input[data-col=" + name + "]");
        if (box !== document.activeElement && Number(box.value) !== layer[name]) {
          box.value = String(layer[name]);
        }
      });
      cells.querySelector("input[data-col=dilation]").disabled = layer.kind === "pool";
      cells.querySelector("[data-col=output]").textContent =
        row.output > 0 ? String(row.output) : "\u2014";
      cells.querySelector("[data-col=size]").textContent = String(row.size);
      cells.querySelector("[data-col=jump]").textContent = String(row.jump);
      cells.querySelector("[data-role=remove]").disabled = state.layers.length === 1;
    });
    addConv.disabled = addPool.disabled = state.layers.length >= limits.layers;
  }

  function buildRows() {
    clear(table);
    var headers = [["#", "layer"], ["kind", "convolution or pooling"], ["k", "kernel size"],
      ["s", "stride"], ["d", "dilation"], ["size", "units along one axis ('valid')"],
      ["r", "receptive field on the input"], ["j", "jump: input distance between units"],
      ["", "remove"]];
    table.appendChild(el("tr", {}, headers.map(function (h) {
      return el("th", {scope: "col", title: h[1]},
                h[0] ? [h[0]] : [el("span", {"class": "cnnx-visually-hidden"}, [h[1]])]);
    })));
    table.appendChild(el("tr", {"data-role": "input-row"}, [el("td", {}, ["input"]),
      el("td", {colspan: 4}, []), el("td", {}, [String(state.input)]), el("td", {}, ["1"]),
      el("td", {}, ["1"]), el("td", {}, [])]));
    state.layers.forEach(function (layer, index) {
      var remove = el("button", {type: "button", "data-role": "remove",
                                 "aria-label": "remove layer " + (index + 1)}, ["\u2212"]);
      remove.addEventListener("click", function () { removeLayer(index); });
      table.appendChild(el("tr", {"data-role": "layer-row", "data-index": index}, [
        el("td", {}, [String(index + 1)]), el("td", {}, [kindMenu(index)]),
        el("td", {}, [numberBox(index, "kernel", limits.kernel)]),
        el("td", {}, [numberBox(index, "stride", limits.stride)]),
        el("td", {}, [numberBox(index, "dilation", limits.dilation, layer.kind === "pool")]),
        el("td", {"data-col": "output"}, []), el("td", {"data-col": "size"}, []),
        el("td", {"data-col": "jump"}, []), el("td", {}, [remove])]));
    });
  }

  // Remove layer `index`; the focus moves to the remove button now in its place (or the one
  // above), or to "+ convolution" when a single layer is left.
  function removeLayer(index) {
    state.layers.splice(index, 1);
    state.level = Math.min(state.level, state.layers.length);
    state.unit = null;
    update();
    var buttons = table.querySelectorAll("[data-role=remove]");
    var next = buttons[Math.min(index, buttons.length - 1)];
    (next && !next.disabled ? next : addConv).focus();
  }

  // Units of every level (0 = input) that unit `unit` of level `level` depends on.
  function traced(level, unit) {
    var sets = [[unit]];
    for (var l = level; l >= 1; l--) {
      var layer = state.layers[l - 1], below = {};
      sets[0].forEach(function (u) {
        for (var t = 0; t < layer.kernel; t++) below[u * layer.stride + t * layer.dilation] = true;
      });
      sets.unshift(Object.keys(below).map(Number).sort(function (a, b) { return a - b; }));
    }
    return sets;
  }

  function counts(result) {
    return [state.input].concat(result.rows.map(function (row) { return row.output; }));
  }

  function levelOf(index, result) {
    return index === 0 ? {size: 1, jump: 1} : result.rows[index - 1];
  }

  var layout = {};

  function draw(result) {
    var n = state.input, levels = state.layers.length + 1, sizes = counts(result);
    var cell = Math.max(4, Math.min(20, Math.floor(340 / n))), gap = Math.max(26, 2.2 * cell);
    layout = {cell: cell, gap: gap, levels: levels, sizes: sizes};
    var context = sizeCanvas(canvas, (levels - 1) * gap / cell + 1.6, n, cell);
    var sets = traced(state.level, state.unit);
    var y = function (level) { return ((levels - 1 - level) * gap + 0.3 * cell); };
    var x = function (level, u) {
      var lv = levelOf(level, result);
      return (u * lv.jump + (lv.size - 1) / 2 + 0.5) * cell;
    };
    context.strokeStyle = c.kernel;
    context.lineWidth = 1;
    for (var level = 1; level < levels && level <= state.level; level++) {
      var layer = state.layers[level - 1];
      (sets[level] || []).forEach(function (u) {
        for (var t = 0; t < layer.kernel; t++) {
          context.beginPath();
          context.moveTo(x(level, u), y(level) + 0.4 * cell);
          context.lineTo(x(level - 1, u * layer.stride + t * layer.dilation),
                         y(level - 1) + 0.4 * cell);
          context.stroke();
        }
      });
    }
    for (level = 0; level < levels; level++) {
      var inSet = {};
      (level <= state.level ? sets[level] : []).forEach(function (u) { inSet[u] = true; });
      for (var u = 0; u < sizes[level]; u++) {
        var current = level === state.level && u === state.unit;
        context.fillStyle = current ? c.current : inSet[u] ? c.kernel :
                            level === 0 ? c.input : c.output;
        if (!current && !inSet[u]) context.globalAlpha = 0.45;
        var w = Math.max(2, 0.8 * cell);
        context.fillRect(x(level, u) - w / 2, y(level), w, 0.8 * cell);
        context.globalAlpha = 1;
      }
    }
  }

  function pickUnit(event) {
    var box = canvas.getBoundingClientRect(), scale = box.width / (state.input * layout.cell);
    var py = (event.clientY - box.top) / scale, px = (event.clientX - box.left) / scale;
    var level = layout.levels - 1 - Math.round((py - 0.7 * layout.cell) / layout.gap);
    level = Math.max(0, Math.min(layout.levels - 1, level));
    if (layout.sizes[level] < 1) return;
    var lv = levelOf(level, computeRows());
    var unit = Math.round((px / layout.cell - 0.5 - (lv.size - 1) / 2) / lv.jump);
    state.level = level;
    state.unit = Math.max(0, Math.min(layout.sizes[level] - 1, unit));
    update();
  }

  function moveUnit(event) {
    var moves = {ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [1, 0], ArrowDown: [-1, 0]};
    var move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    var level = Math.max(0, Math.min(layout.levels - 1, state.level + move[0]));
    if (layout.sizes[level] < 1) return;
    var unit = move[0] ? Math.floor(layout.sizes[level] / 2) : state.unit + move[1];
    state.level = level;
    state.unit = Math.max(0, Math.min(layout.sizes[level] - 1, unit));
    update();
  }

  function describe(result) {
    clear(seen);
    if (result.error) {
      seen.appendChild(el("span", {"class": "cnnx-note", "data-role": "error"}, [result.error]));
      return;
    }
    var sets = traced(state.level, state.unit), inputs = sets[0];
    var lv = levelOf(state.level, result);
    var name = state.level === 0 ? "Input " + state.unit : "Unit " + state.unit + " of layer " +
               state.level;
    seen.appendChild(el("span", {"data-role": "seen", "data-seen": inputs.join(","),
                                 "data-level": state.level, "data-unit": state.unit}, [
      name + " sees inputs " + inputs[0] + " to " + inputs[inputs.length - 1] + " (" +
      lv.size + " wide, " + lv.size + "\u00d7" + lv.size + " in 2-D)" +
      (inputs.length < lv.size ? "; dilation leaves gaps: it reads " + inputs.length +
       " of them." : ".")]));
  }

  function update() {
    var result = computeRows();
    buildTable(result);
    if (!result.error) {
      var sizes = counts(result);
      state.level = Math.min(state.level, state.layers.length);
      if (state.unit === null || state.unit >= sizes[state.level]) {
        state.unit = Math.floor((sizes[state.level] - 1) / 2);
      }
      draw(result);
    } else {
      sizeCanvas(canvas, 0, 0, 1);
    }
    describe(result);
    markUpdated(app);
  }

  update();
}
