// Convolution-arithmetic explorer. Sizes are never computed here: they are read from the
// tables that cnncourse.arithmetic filled for every reachable setting (data.direct: [o, zeros
// before, zeros after, uncovered inputs]; data.transposed: [o, zeros before, zeros after] of the
// equivalent stride-1 convolution; -1 where the package refuses the setting).

function main(app, data) {
  var direct = decodeBytes(data.direct, true), transposed = decodeBytes(data.transposed, true);
  var c = data.colours;
  var s0 = data.initial;
  var state = {input: s0.input, kernel: s0.kernel, padding: String(s0.padding),
               stride: s0.stride, dilation: s0.dilation, transposed: s0.transposed,
               row: 0, col: 0};

  var controls = {
    input: slider("input i", "input-size", 1, data.inputSizes.length, state.input, set("input")),
    kernel: slider("kernel k", "kernel-size", 1, data.kernelSizes.length, state.kernel,
                   set("kernel")),
    stride: slider("stride s", "stride", 1, data.strides.length, state.stride, set("stride")),
    dilation: slider("dilation d", "dilation", 1, data.dilations.length, state.dilation,
                     set("dilation"))
  };
  var paddingMenu = el("select", {"data-role": "padding", "aria-label": "padding"});
  var switchBox = el("input", {type: "checkbox", "data-role": "transposed"});
  switchBox.checked = state.transposed;
  switchBox.addEventListener("change", function () {
    state.transposed = switchBox.checked;
    fillPaddingMenu();
    update();
  });
  paddingMenu.addEventListener("change", function () {
    state.padding = paddingMenu.value;
    update();
  });
  var inputCanvas = cellCanvas("padded-input", "padded input with the kernel taps");
  var outputCanvas = cellCanvas("output-grid", "output grid; move the selected cell with " +
                                "the arrow keys or the pointer");
  var inputCaption = el("figcaption", {"data-role": "input-caption"});
  var summary = el("p", {"class": "cnnx-summary", "aria-live": "polite"});
  var formula = el("div", {"class": "cnnx-formula", "data-role": "formula"});

  app.appendChild(el("div", {"class": "cnnx-row"}, [
    controls.input.wrap, controls.kernel.wrap,
    el("label", {"class": "cnnx-control"}, ["padding p ", paddingMenu]),
    controls.stride.wrap, controls.dilation.wrap,
    el("label", {"class": "cnnx-control"}, [switchBox, " transposed"])]));
  app.appendChild(el("div", {"class": "cnnx-row"}, [
    el("figure", {"class": "cnnx-figure"}, [inputCanvas, inputCaption]),
    el("figure", {"class": "cnnx-figure"}, [outputCanvas,
      el("figcaption", {}, ["output (cyan), the cell computed (teal)"])])]));
  app.appendChild(summary);
  app.appendChild(formula);

  selectableCells(outputCanvas, function () { var o = entry().size; return {rows: o, cols: o}; },
    function () { return {row: state.row, col: state.col}; },
    function (row, col) { state.row = row; state.col = col; draw(); }, false);

  function set(name) {
    return function (value) { state[name] = value; update(); };
  }

  function fillPaddingMenu() {
    var options = state.transposed ? data.transposedPaddings : data.paddings;
    var names = options.map(String);
    if (names.indexOf(state.padding) < 0) state.padding = names[0];
    clear(paddingMenu);
    names.forEach(function (name) {
      paddingMenu.appendChild(el("option", {value: name}, [name]));
    });
    paddingMenu.value = state.padding;
    controls.dilation.input.disabled = state.transposed;
    if (state.transposed) {
      state.dilation = 1;
      controls.dilation.input.value = "1";
      controls.dilation.shown.textContent = "1";
    }
  }

  // The package's numbers for the current setting.
  function entry() {
    var i = state.input - 1, k = state.kernel - 1, s = state.stride - 1, d = state.dilation - 1;
    var nK = data.kernelSizes.length, nS = data.strides.length, nD = data.dilations.length;
    if (state.transposed) {
      var pT = data.transposedPaddings.map(String).indexOf(state.padding);
      var at = (((i * nK + k) * data.transposedPaddings.length + pT) * nS + s) * 3;
      return {size: transposed[at], before: transposed[at + 1], after: transposed[at + 2],
              uncovered: null, ok: transposed[at] >= 0};
    }
    var p = data.paddings.map(String).indexOf(state.padding);
    var index = ((((i * nK + k) * data.paddings.length + p) * nS + s) * nD + d) * 4;
    return {size: direct[index], before: direct[index + 1], after: direct[index + 2],
            uncovered: direct[index + 3], ok: direct[index] >= 0};
  }

  // Geometry of the drawing along one axis: canvas cells, which hold inputs, tap offsets, step.
  function geometry(e) {
    var n = state.input, k = state.kernel;
    if (state.transposed) {
      var s = state.stride, spread = n + (n - 1) * (s - 1), isInput = [];
      for (var x = 0; x < e.before + spread + e.after; x++) {
        isInput.push(x >= e.before && x < e.before + spread && (x - e.before) % s === 0);
      }
      return {cells: isInput.length, isInput: isInput, step: 1, gap: 1, taps: k};
    }
    var flags = [];
    for (var y = 0; y < e.before + n + e.after; y++) flags.push(y >= e.before && y < e.before + n);
    return {cells: flags.length, isInput: flags, step: state.stride, gap: state.dilation, taps: k};
  }

  // Canvas cells read by some kernel tap, then the input indices that no tap reads.
  function unreadInputs(e, g) {
    var read = {};
    for (var o = 0; o < e.size; o++) {
      for (var t = 0; t < g.taps; t++) read[o * g.step + t * g.gap] = true;
    }
    var unread = [], index = 0;
    for (var x = 0; x < g.cells; x++) {
      if (!g.isInput[x]) continue;
      if (!read[x]) unread.push(index);
      index++;
    }
    return unread;
  }

  function update() {
    var e = entry();
    if (e.ok) {
      state.row = Math.min(state.row, e.size - 1);
      state.col = Math.min(state.col, e.size - 1);
    }
    draw();
  }

  function draw() {
    var e = entry();
    clear(formula);
    formula.appendChild(document.createTextNode(formulaText(e)));
    if (!e.ok) {
      summary.textContent = refusal();
      summary.setAttribute("data-role", "refused");
      sizeCanvas(inputCanvas, 0, 0, 1);
      sizeCanvas(outputCanvas, 0, 0, 1);
      markUpdated(app);
      return;
    }
    var g = geometry(e);
    var unread = unreadInputs(e, g);
    var cell = Math.max(7, Math.min(26, Math.floor(300 / g.cells)));
    inputCaption.textContent = captionText(e);
    drawInput(e, g, unread, cell);
    drawOutput(e, Math.max(7, Math.min(26, Math.floor(300 / Math.max(e.size, 1)))));
    summary.removeAttribute("data-role");
    clear(summary);
    summary.appendChild(el("span", {}, ["Output size "]));
    summary.appendChild(el("strong", {"data-role": "output-size"}, [String(e.size)]));
    summary.appendChild(document.createTextNode(" \u00d7 " + e.size + "; zeros added: "));
    summary.appendChild(el("span", {"data-role": "padding-amounts"},
                           [e.before + " before, " + e.after + " after"]));
    if (!state.transposed) {
      summary.appendChild(document.createTextNode("; inputs left at the end, no window " +
                                                  "reaching them: "));
      summary.appendChild(el("strong", {"data-role": "uncovered-count"}, [String(e.uncovered)]));
    } else {
      summary.appendChild(document.createTextNode("; " + (state.stride - 1) +
                                                  " zero(s) inserted between inputs"));
    }
    summary.appendChild(document.createTextNode(". Inputs that no kernel tap reads: "));
    summary.appendChild(el("span", {"data-role": "unread", "data-unread": unread.join(",")},
                           [unread.length ? unread.length + " (input" +
                            (unread.length > 1 ? "s " : " ") + unread.join(", ") + ")" :
                            "none"]));
    summary.appendChild(document.createTextNode(" (per axis). Selected output cell: (" +
                                                state.row + ", " + state.col + ")."));
    markUpdated(app);
  }

  // What the left drawing shows: the input itself, or (transposed) the equivalent direct
  // convolution's input, spread out with zeros.
  function captionText(e) {
    var marks = "kernel taps (navy), where each window starts (dots), inputs no tap reads " +
                "(\u00d7)";
    if (!state.transposed) return "input (blue), zeros added (dashed), " + marks;
    return "the equivalent stride-1 convolution: the inputs (blue) with " +
           (state.stride - 1) + " zero(s) inserted between neighbours and " + e.before +
           " before, " + e.after + " after (dashed), " + marks;
  }

  function drawInput(e, g, unread, cell) {
    var n = g.cells, context = sizeCanvas(inputCanvas, n, n, cell);
    var unreadCell = {}, index = 0;
    for (var x = 0; x < n; x++) {
      if (g.isInput[x]) { if (unread.indexOf(index) >= 0) unreadCell[x] = true; index++; }
    }
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, n * cell, n * cell);
    for (var r = 0; r < n; r++) {
      for (var q = 0; q < n; q++) {
        var inside = g.isInput[r] && g.isInput[q];
        context.fillStyle = inside ? c.input : "#f4f4f4";
        context.fillRect(q * cell + 1, r * cell + 1, cell - 2, cell - 2);
        context.setLineDash(inside ? [] : [2, 2]);
        context.strokeStyle = inside ? "#3d6f9e" : c.padding;
        context.lineWidth = 1;
        context.strokeRect(q * cell + 1.5, r * cell + 1.5, cell - 3, cell - 3);
        if (inside && (unreadCell[r] || unreadCell[q])) cross(context, r, q, cell);
      }
    }
    context.setLineDash([]);
    context.fillStyle = c.kernel;  // a dot where each window starts: the stride's lattice
    for (var a = 0; a < e.size; a++) {
      for (var b = 0; b < e.size; b++) {
        context.beginPath();
        context.arc((b * g.step + 0.5) * cell, (a * g.step + 0.5) * cell, Math.max(1.5, cell / 8),
                    0, 2 * Math.PI);
        context.fill();
      }
    }
    var span = (g.taps - 1) * g.gap + 1;
    context.strokeStyle = c.kernel;
    context.lineWidth = 2;
    context.strokeRect(state.col * g.step * cell + 1, state.row * g.step * cell + 1,
                       span * cell - 2, span * cell - 2);
    context.globalAlpha = 0.75;
    context.fillStyle = c.kernel;
    for (var u = 0; u < g.taps; u++) {
      for (var v = 0; v < g.taps; v++) {
        context.fillRect((state.col * g.step + v * g.gap) * cell + 3,
                         (state.row * g.step + u * g.gap) * cell + 3, cell - 6, cell - 6);
      }
    }
    context.globalAlpha = 1;
  }

  function cross(context, r, q, cell) {
    context.strokeStyle = "#1a1a1a";
    context.lineWidth = 1.5;
    context.beginPath();
    context.moveTo(q * cell + 4, r * cell + 4);
    context.lineTo((q + 1) * cell - 4, (r + 1) * cell - 4);
    context.moveTo((q + 1) * cell - 4, r * cell + 4);
    context.lineTo(q * cell + 4, (r + 1) * cell - 4);
    context.stroke();
  }

  function drawOutput(e, cell) {
    var context = sizeCanvas(outputCanvas, e.size, e.size, cell);
    for (var r = 0; r < e.size; r++) {
      for (var q = 0; q < e.size; q++) {
        var current = r === state.row && q === state.col;
        context.fillStyle = current ? c.current : c.output;
        context.fillRect(q * cell + 1, r * cell + 1, cell - 2, cell - 2);
      }
    }
  }

  function refusal() {
    var k = state.kernel, d = state.dilation, p = state.padding;
    if (state.transposed) {
      return "The package refuses this setting: " + (/^\d+$/.test(p) && Number(p) > k - 1 ?
        "padding " + p + " is larger than k - 1 = " + (k - 1) + ", so the equivalent " +
        "convolution would need negative padding." : "it leaves no output.");
    }
    var ke = k + (k - 1) * (d - 1);
    return "The package refuses this setting: the kernel (effective size " + ke + ") is " +
           "larger than the padded input.";
  }

  function formulaText(e) {
    var i = state.input, k = state.kernel, s = state.stride, d = state.dilation;
    if (state.transposed) {
      var text = "transposed, padding " + state.padding + ":\n";
      if (state.padding === "valid") {
        text += "o = i\u00b7s + max(k \u2212 s, 0) = " + i + "\u00b7" + s + " + max(" + k +
                " \u2212 " + s + ", 0)";
      } else if (state.padding === "same") {
        text += "o = i\u00b7s = " + i + "\u00b7" + s;
      } else {
        text += "o = s(i \u2212 1) + k \u2212 2p = " + s + "\u00b7(" + i + " \u2212 1) + " + k +
                " \u2212 2\u00b7" + state.padding;
      }
      return text + (e.ok ? " = " + e.size : "");
    }
    var ke = k + (k - 1) * (d - 1);
    var lines = [];
    if (d > 1) {
      lines.push("ke = k + (k \u2212 1)(d \u2212 1) = " + k + " + " + (k - 1) + "\u00b7" +
                 (d - 1) + " = " + ke);
    }
    lines.push("o = \u230a(i + p_before + p_after \u2212 " + (d > 1 ? "ke" : "k") +
               ") / s\u230b + 1");
    if (e.ok) {
      lines.push("  = \u230a(" + i + " + " + e.before + " + " + e.after + " \u2212 " + ke +
                 ") / " + s + "\u230b + 1 = " + e.size);
    }
    if (state.padding === "same") lines.push("('same': o = \u2308i / s\u2309, the odd zero " +
                                             "goes after, as in Keras)");
    return lines.join("\n");
  }

  fillPaddingMenu();
  update();
}
