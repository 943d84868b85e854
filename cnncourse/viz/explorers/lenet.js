// LeNet explorer. data.levels: the input and each shown layer, {name, kind, shape [H, W, C],
// low[n], high[n], values[n] (uint8: low + code / 255 * (high - low)), and for conv/pool/dense
// the kernel (int8 weights * weightScale), bias, size, strides, dilation, padBefore}.
// data.probabilities[n][k]: the model's output for image n, as Keras computed it.

function main(app, data) {
  var colours = decodeBytes(data.colourTable, false);
  var levels = data.levels;
  var cache = {};
  var first = Math.min(1, levels.length - 1);  // the first layer, its centre unit
  var state = {image: 0, level: first, channel: 0, row: Math.floor(levels[first].shape[0] / 2),
               col: Math.floor(levels[first].shape[1] / 2)};

  var picker = el("div", {"class": "cnnx-digits", role: "group", "aria-label": "test digit"});
  var heading = el("p", {"data-role": "verdict"});
  var probs = el("div", {"class": "cnnx-probs", "data-role": "probabilities"});
  var detail = el("div", {"class": "cnnx-detail", "data-role": "unit", "aria-live": "polite"});
  var stack = el("div", {"class": "cnnx-stack", "data-role": "layers"});
  app.appendChild(el("div", {"class": "cnnx-row"}, [
    el("div", {}, [el("div", {}, ["Choose a test digit"]), picker, heading, probs]),
    detail]));
  app.appendChild(stack);

  // Decoded values (H * W * C, channels last) of one level for one image.
  function valuesOf(levelIndex, image) {
    var key = levelIndex + "/" + image;
    if (!cache[key]) {
      var level = levels[levelIndex], codes = decodeBytes(level.values[image], false);
      var low = level.low[image], span = level.high[image] - low;
      var out = new Float32Array(codes.length);
      for (var n = 0; n < codes.length; n++) out[n] = low + codes[n] / 255 * span;
      cache[key] = out;
    }
    return cache[key];
  }

  function weightsOf(level) {
    if (!level.decoded) {
      var codes = decodeBytes(level.weights, true), out = new Float32Array(codes.length);
      for (var n = 0; n < codes.length; n++) out[n] = codes[n] * level.weightScale;
      level.decoded = out;
    }
    return level.decoded;
  }

  function at(level, values, y, x, c) {
    var s = level.shape;
    return values[(y * s[1] + x) * s[2] + c];
  }

  // Where each map of a level goes on its canvas.
  function layoutOf(level) {
    var H = level.shape[0], W = level.shape[1], C = level.shape[2];
    var vector = H * W === 1;
    var cell = vector ? 8 : Math.max(2, Math.min(10, Math.floor(56 / W)));
    var gap = vector ? 1 : 4;
    var cols = vector ? Math.min(C, 15) : Math.ceil(Math.sqrt(C));
    return {H: H, W: W, C: C, cell: cell, gap: gap, cols: cols, rows: Math.ceil(C / cols),
            width: cols * (W * cell + gap) - gap,
            height: Math.ceil(C / cols) * (H * cell + gap) - gap};
  }

  function origin(layout, channel) {
    return {x: (channel % layout.cols) * (layout.W * layout.cell + layout.gap),
            y: Math.floor(channel / layout.cols) * (layout.H * layout.cell + layout.gap)};
  }

  function extentOf(level, image) {
    return Math.max(Math.abs(level.low[image]), Math.abs(level.high[image])) || 1;
  }

  // [r, g, b] of a value: the input in grey (ink dark), every layer in the signed map.
  function colourRGB(level, image, value) {
    if (level.kind === "input") {
      var span = (level.high[image] - level.low[image]) || 1;
      var g = Math.round(255 - (value - level.low[image]) / span * 255);
      return [g, g, g];
    }
    return signedColour(colours, value, extentOf(level, image));
  }

  function colourOf(level, image, value) {
    return rgb(colourRGB(level, image, value));
  }

  // Paint every map of a level for the current image, pixel by pixel, on an offscreen canvas.
  function paintLevel(index) {
    var level = levels[index], l = layoutOf(level), values = valuesOf(index, state.image);
    var canvas = document.createElement("canvas");
    canvas.width = l.width;
    canvas.height = l.height;
    var context = canvas.getContext("2d"), pixels = context.createImageData(l.width, l.height);
    var out = pixels.data;
    for (var c = 0; c < l.C; c++) {
      var o = origin(l, c);
      for (var y = 0; y < l.H; y++) {
        for (var x = 0; x < l.W; x++) {
          var rgbValue = colourRGB(level, state.image, at(level, values, y, x, c));
          for (var dy = 0; dy < l.cell; dy++) {
            var start = ((o.y + y * l.cell + dy) * l.width + o.x + x * l.cell) * 4;
            for (var dx = 0; dx < l.cell; dx++) {
              out[start + 4 * dx] = rgbValue[0];
              out[start + 4 * dx + 1] = rgbValue[1];
              out[start + 4 * dx + 2] = rgbValue[2];
              out[start + 4 * dx + 3] = 255;
            }
          }
        }
      }
    }
    context.putImageData(pixels, 0, 0);
    return canvas;
  }

  var views = levels.map(function (level, index) {
    var layout = layoutOf(level);
    var canvas = cellCanvas("maps", level.name + ": " + layout.C + " map(s) of " + layout.H +
                            "\u00d7" + layout.W + "; select a unit with the arrow keys");
    canvas.setAttribute("data-level", index);
    var title = el("div", {"class": "cnnx-layer-title"}, [describeLevel(level)]);
    stack.appendChild(el("div", {"class": "cnnx-level"}, [title, canvas]));
    canvas.addEventListener("pointerdown", function (event) { pointAt(index, event); });
    canvas.addEventListener("keydown", function (event) { stepIn(index, event); });
    return {canvas: canvas, layout: layout, painted: null};
  });

  function describeLevel(level) {
    var s = level.shape, what = s[0] * s[1] === 1 ? s[2] + " units" :
      s[2] + " map" + (s[2] > 1 ? "s" : "") + " of " + s[0] + "\u00d7" + s[1];
    var how = level.kind === "conv" ? ", " + level.size.join("\u00d7") + " kernels" +
      (level.strides[0] > 1 ? ", stride " + level.strides[0] : "") + ", " + level.activation :
      level.kind === "pool" ? ", " + level.size.join("\u00d7") + " " + level.mode + " pooling" :
      level.kind === "dense" ? ", fully connected, " + level.activation : "";
    return level.name + ": " + what + how;
  }

  function pointAt(index, event) {
    var view = views[index], box = view.canvas.getBoundingClientRect();
    var scale = box.width / view.layout.width, l = view.layout;
    var px = (event.clientX - box.left) / scale, py = (event.clientY - box.top) / scale;
    var mapCol = Math.floor(px / (l.W * l.cell + l.gap));
    var mapRow = Math.floor(py / (l.H * l.cell + l.gap));
    var channel = mapRow * l.cols + mapCol;
    if (channel >= l.C || mapCol >= l.cols) return;
    var o = origin(l, channel);
    var x = Math.floor((px - o.x) / l.cell), y = Math.floor((py - o.y) / l.cell);
    if (x < 0 || y < 0 || x >= l.W || y >= l.H) return;
    selectUnit(index, channel, y, x);
  }

  // Arrow keys walk over all the units of a level as one grid of maps.
  function stepIn(index, event) {
    var steps = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
    var step = steps[event.key];
    if (!step) return;
    event.preventDefault();
    var l = views[index].layout;
    var here = state.level === index ? state : {channel: 0, row: 0, col: 0};
    var gy = Math.floor(here.channel / l.cols) * l.H + here.row + step[0];
    var gx = (here.channel % l.cols) * l.W + here.col + step[1];
    gy = Math.max(0, Math.min(l.rows * l.H - 1, gy));
    gx = Math.max(0, Math.min(l.cols * l.W - 1, gx));
    var channel = Math.floor(gy / l.H) * l.cols + Math.floor(gx / l.W);
    if (channel >= l.C) return;
    selectUnit(index, channel, gy % l.H, gx % l.W);
  }

  function selectUnit(index, channel, row, col) {
    state.level = index;
    state.channel = channel;
    state.row = row;
    state.col = col;
    drawLevels();
    showUnit();
    markUpdated(app);
  }

  // The window of the level below that a unit reads: rows, columns and channels.
  function windowOf(level, row, col, channel, below) {
    var rows = [], cols = [], u;
    for (u = 0; u < level.size[0]; u++) {
      rows.push(row * level.strides[0] + u * level.dilation[0] - level.padBefore[0]);
    }
    for (u = 0; u < level.size[1]; u++) {
      cols.push(col * level.strides[1] + u * level.dilation[1] - level.padBefore[1]);
    }
    var channels = [];
    if (level.kind === "pool") channels.push(channel);
    else for (u = 0; u < below.shape[2]; u++) channels.push(u);
    return {rows: rows, cols: cols, channels: channels};
  }

  function drawLevels() {
    views.forEach(function (view, index) {
      if (!view.painted) view.painted = paintLevel(index);
      var l = view.layout, context = sizeCanvas(view.canvas, l.height, l.width, 1);
      context.imageSmoothingEnabled = false;
      context.drawImage(view.painted, 0, 0);
      context.lineWidth = 2;
      if (index === state.level) {
        var o = origin(l, state.channel);
        context.strokeStyle = "#ffb000";
        context.strokeRect(o.x + state.col * l.cell - 1, o.y + state.row * l.cell - 1,
                           l.cell + 2, l.cell + 2);
      }
      var above = levels[state.level];
      if (index === state.level - 1 && (above.kind === "conv" || above.kind === "pool")) {
        var w = windowOf(above, state.row, state.col, state.channel, levels[index]);
        context.strokeStyle = "#1a1a1a";
        w.channels.forEach(function (c) {
          var p = origin(l, c);
          var y0 = Math.max(0, w.rows[0]), y1 = Math.min(l.H - 1, w.rows[w.rows.length - 1]);
          var x0 = Math.max(0, w.cols[0]), x1 = Math.min(l.W - 1, w.cols[w.cols.length - 1]);
          context.strokeRect(p.x + x0 * l.cell, p.y + y0 * l.cell, (x1 - x0 + 1) * l.cell,
                             (y1 - y0 + 1) * l.cell);
        });
      }
    });
  }

  // A small canvas of a KH x KW tile of values in the signed colour map.
  function tile(values, rows, cols, colourAt, label) {
    var canvas = el("canvas", {"class": "cnnx-canvas", role: "img", "aria-label": label});
    var cell = Math.max(3, Math.min(10, Math.floor(50 / cols)));
    var context = sizeCanvas(canvas, rows, cols, cell);
    for (var y = 0; y < rows; y++) {
      for (var x = 0; x < cols; x++) {
        context.fillStyle = colourAt(values[y * cols + x]);
        context.fillRect(x * cell, y * cell, cell, cell);
      }
    }
    return canvas;
  }

  function signedMap(extent) {
    return function (value) { return rgb(signedColour(colours, value, extent)); };
  }

  function showUnit() {
    var level = levels[state.level], below = levels[state.level - 1];
    var value = at(level, valuesOf(state.level, state.image), state.row, state.col, state.channel);
    clear(detail);
    var where = level.shape[0] * level.shape[1] === 1 ? "unit " + state.channel :
      "map " + state.channel + ", row " + state.row + ", column " + state.col;
    detail.appendChild(el("p", {}, [el("strong", {}, [level.name]), ", " + where + ": value ",
      el("span", {"data-role": "unit-value", "data-value": String(value)}, [fmt(value, 3)])]));
    if (level.kind === "conv") showConvolution(level, below);
    else if (level.kind === "pool") showPooling(level, below);
    else if (level.kind === "dense") showDense(level, below);
    else detail.appendChild(el("p", {}, [state.level === 0 ? "A pixel of the input digit." :
      "No window is shown for a " + level.kind + " layer."]));
  }

  function showConvolution(level, below) {
    var w = windowOf(level, state.row, state.col, state.channel, below);
    var KH = level.size[0], KW = level.size[1], C = below.shape[2], F = level.weightShape[3];
    var kernel = weightsOf(level), values = valuesOf(state.level - 1, state.image);
    var total = level.bias[state.channel], tiles = [];
    var kernelColour = signedMap(level.weightScale * 127);
    var belowColour = function (value) { return colourOf(below, state.image, value); };
    w.channels.forEach(function (c) {
      var win = [], ker = [];
      for (var u = 0; u < KH; u++) {
        for (var v = 0; v < KW; v++) {
          var y = w.rows[u], x = w.cols[v];
          var inside = y >= 0 && x >= 0 && y < below.shape[0] && x < below.shape[1];
          var a = inside ? at(below, values, y, x, c) : 0;
          var k = kernel[((u * KW + v) * C + c) * F + state.channel];
          win.push(a);
          ker.push(k);
          total += a * k;
        }
      }
      tiles.push(el("div", {"class": "cnnx-titled"}, [el("div", {}, ["ch " + c]),
        tile(win, KH, KW, belowColour, "window of channel " + c),
        tile(ker, KH, KW, kernelColour, "kernel of channel " + c)]));
    });
    detail.appendChild(el("p", {}, ["It reads rows " + w.rows[0] + "\u2013" +
      w.rows[w.rows.length - 1] + " and columns " + w.cols[0] + "\u2013" +
      w.cols[w.cols.length - 1] + " of " + (C > 1 ? "all " + C + " maps" : "the map") +
      " of " + below.name + " (outlined). Each pair: the window (top) and the kernel " +
      "(bottom) for one input channel."]));
    detail.appendChild(el("div", {"class": "cnnx-maps", "data-role": "kernel"}, tiles));
    detail.appendChild(el("p", {}, ["\u03a3 window \u00d7 kernel + bias \u2248 " + fmt(total, 3) +
      (level.activation === "relu" ? ", after ReLU \u2248 " + fmt(Math.max(total, 0), 3) : "") +
      " (from the 8-bit values stored in this page)."]));
  }

  function showPooling(level, below) {
    var w = windowOf(level, state.row, state.col, state.channel, below);
    var values = valuesOf(state.level - 1, state.image), rows = [];
    w.rows.forEach(function (y) {
      rows.push(w.cols.map(function (x) {
        var inside = y >= 0 && x >= 0 && y < below.shape[0] && x < below.shape[1];
        return inside ? at(below, values, y, x, state.channel) : 0;
      }));
    });
    detail.appendChild(el("p", {}, ["The " + level.mode + " of this window of map " +
      state.channel + " of " + below.name + " (outlined):"]));
    detail.appendChild(numberTable(rows, 3, "window", colours, extentOf(below, state.image)));
  }

  function showDense(level, below) {
    var n = level.weightShape[0], F = level.weightShape[1], kernel = weightsOf(level);
    var values = valuesOf(state.level - 1, state.image), row = [];
    var total = level.bias[state.channel];
    for (var i = 0; i < n; i++) {
      row.push(kernel[i * F + state.channel]);
      total += values[i] * kernel[i * F + state.channel];
    }
    var cols = Math.min(n, 30);
    while (row.length % cols) row.push(0);
    detail.appendChild(el("p", {}, ["It reads all " + n + " values of " + below.name +
      ", each times its own weight (below, red positive, blue negative)."]));
    detail.appendChild(el("div", {"data-role": "kernel"}, [tile(row, row.length / cols, cols,
      signedMap(level.weightScale * 127), "weights of unit " + state.channel)]));
    detail.appendChild(el("p", {}, ["\u03a3 input \u00d7 weight + bias \u2248 " + fmt(total, 3) +
      (level.activation === "relu" ? ", after ReLU \u2248 " + fmt(Math.max(total, 0), 3) : "") +
      " (from the 8-bit values stored in this page)."]));
  }

  function showProbabilities() {
    var p = data.probabilities[state.image], best = 0;
    p.forEach(function (value, k) { if (value > p[best]) best = k; });
    var label = data.labels[state.image];
    heading.textContent = "True label " + data.classNames[label] + "; the network says " +
      data.classNames[best] + " (" + fmt(100 * p[best], 1) + "%).";
    heading.setAttribute("data-predicted", String(best));
    clear(probs);
    p.forEach(function (value, k) {
      var mark = k === best ? " cnnx-prob-best" : "";
      probs.appendChild(el("span", {"class": mark}, [data.classNames[k]]));
      probs.appendChild(el("span", {"class": mark}, [el("span", {"class": "cnnx-prob-bar",
        style: "display:block;width:" + (100 * value).toFixed(1) + "%"})]));
      probs.appendChild(el("span", {"data-role": "prob", "data-class": k}, [fmt(value, 4)]));
    });
  }

  function chooseImage(image) {
    state.image = image;
    views.forEach(function (view) { view.painted = null; });
    Array.prototype.forEach.call(picker.children, function (button, n) {
      button.setAttribute("aria-pressed", n === image ? "true" : "false");
    });
    showProbabilities();
    drawLevels();
    showUnit();
    markUpdated(app);
  }

  data.labels.forEach(function (label, n) {
    var layout = layoutOf(levels[0]);
    var thumb = el("canvas", {"aria-hidden": "true"});
    var context = sizeCanvas(thumb, layout.H, layout.W, 1);
    var values = valuesOf(0, n);
    for (var y = 0; y < layout.H; y++) {
      for (var x = 0; x < layout.W; x++) {
        context.fillStyle = colourOf(levels[0], n, at(levels[0], values, y, x, 0));
        context.fillRect(x, y, 1, 1);
      }
    }
    thumb.style.width = thumb.style.height = "36px";
    picker.appendChild(el("button", {type: "button", "data-role": "digit", "data-index": n,
      "aria-label": "test digit " + n + ", labelled " + data.classNames[label],
      onclick: function () { chooseImage(n); }}, [thumb]));
  });
  chooseImage(0);
}
