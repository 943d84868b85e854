// Image-kernel explorer: data = {height, width, pixels (uint8, row by row), kernels [{name,
// weights}], selected, colourTable, digits}. out[i][j] = sum_uv x[i+u-r][j+v-r] * k[u][v],
// zeros outside the image ('same' padding), a cross-correlation as in cnncourse.filters.

function main(app, data) {
  var H = data.height, W = data.width, digits = data.digits;
  var bytes = decodeBytes(data.pixels, false);
  var image = new Float64Array(H * W);
  for (var n = 0; n < H * W; n++) image[n] = bytes[n] / 255;
  var colours = decodeBytes(data.colourTable, false);
  var cell = Math.max(2, Math.floor(300 / W));
  var state = {kernel: copyRows(data.kernels[data.selected].weights), row: Math.floor(H / 2),
               col: Math.floor(W / 2), out: new Float64Array(H * W), extent: 1};

  var menu = el("select", {"data-role": "kernel-menu", "aria-label": "kernel"},
    data.kernels.map(function (kernel, index) {
      return el("option", {value: index}, [kernel.name]);
    }));
  menu.value = String(data.selected);
  var weightGrid = el("div", {"class": "cnnx-weights", "data-role": "weights"});
  var inputCanvas = cellCanvas("input", "input image; select a pixel with the arrow keys");
  var outputCanvas = cellCanvas("output", "filtered image; select a pixel with the arrow " +
                                "keys or the pointer");
  var outputCaption = el("figcaption", {"data-role": "output-caption"});
  var legend = el("div", {"class": "cnnx-legend", "data-role": "legend"});
  var detail = el("div", {"class": "cnnx-detail", "data-role": "detail", "aria-live": "polite"});

  app.appendChild(el("div", {"class": "cnnx-row"}, [
    el("label", {"class": "cnnx-control"}, ["Kernel ", menu]),
    el("div", {"class": "cnnx-control"}, [el("span", {}, ["Weights (edit me)"]), weightGrid])]));
  app.appendChild(el("div", {"class": "cnnx-row"}, [
    el("figure", {"class": "cnnx-figure"}, [inputCanvas, el("figcaption", {}, ["input"])]),
    el("figure", {"class": "cnnx-figure"}, [outputCanvas,
      outputCaption, legend])]));
  app.appendChild(detail);

  var offscreen = document.createElement("canvas");
  offscreen.width = W;
  offscreen.height = H;

  menu.addEventListener("change", function () {
    state.kernel = copyRows(data.kernels[Number(menu.value)].weights);
    buildWeightInputs();
    update();
  });
  [inputCanvas, outputCanvas].forEach(function (canvas) {
    selectableCells(canvas, function () { return {rows: H, cols: W}; },
      function () { return {row: state.row, col: state.col}; },
      function (row, col) { state.row = row; state.col = col; drawAll(); }, true);
  });

  function copyRows(rows) {
    return rows.map(function (row) { return row.slice(); });
  }

  function buildWeightInputs() {
    clear(weightGrid);
    var K = state.kernel.length;
    weightGrid.style.gridTemplateColumns = "repeat(" + K + ", 4.6em)";
    state.kernel.forEach(function (row, u) {
      row.forEach(function (value, v) {
        var input = el("input", {type: "text", value: weightText(value), spellcheck: "false",
                                 "data-role": "weight", "data-row": u, "data-col": v,
                                 "aria-label": "weight row " + u + " column " + v});
        input.addEventListener("input", function () {
          var number = parseWeight(input.value);
          input.setAttribute("aria-invalid", isFinite(number) ? "false" : "true");
          if (!isFinite(number)) return;
          state.kernel[u][v] = number;
          update();
        });
        weightGrid.appendChild(input);
      });
    });
  }

  // A weight as the reader would write it: 1/9, 1/16 and 2 rather than 0.1111111111111111;
  // other values to 3 significant digits (the kernel keeps the exact value).
  function weightText(value) {
    if (Number.isInteger(value)) return String(value);
    for (var q = 2; q <= 64; q++) {
      var p = value * q;
      if (Math.abs(p - Math.round(p)) < 1e-9 * q) return Math.round(p) + "/" + q;
    }
    return String(Number(value.toPrecision(3)));
  }

  // "0.25", "-2", "1/9" -> a number; anything else (an empty box included) -> NaN.
  function parseWeight(text) {
    var fraction = /^\s*([+-]?\d*\.?\d+)\s*\/\s*(\d*\.?\d+)\s*$/.exec(text);
    if (fraction) return Number(fraction[1]) / Number(fraction[2]);
    return text.trim() === "" ? NaN : Number(text);
  }

  // Kernels whose weights sum to 1 (blurs, identity, shift, sharpen) keep the image's
  // brightness: their output is drawn as a grey image; any other kernel (edges, derivatives)
  // gives signed responses, drawn red (positive) and blue (negative).
  function keepsBrightness() {
    var total = 0;
    state.kernel.forEach(function (row) { row.forEach(function (w) { total += w; }); });
    return Math.abs(total - 1) < 1e-6;
  }

  function outputColour(value) {
    if (!keepsBrightness()) return signedColour(colours, value, state.extent);
    var g = Math.round(Math.max(0, Math.min(1, value)) * 255);
    return [g, g, g];
  }

  function filterImage() {
    var K = state.kernel.length, r = (K - 1) / 2, out = state.out, extent = 0;
    for (var i = 0; i < H; i++) {
      for (var j = 0; j < W; j++) {
        var sum = 0;
        for (var u = 0; u < K; u++) {
          var y = i + u - r;
          if (y < 0 || y >= H) continue;
          var weights = state.kernel[u];
          for (var v = 0; v < K; v++) {
            var x = j + v - r;
            if (x >= 0 && x < W) sum += image[y * W + x] * weights[v];
          }
        }
        out[i * W + j] = sum;
        extent = Math.max(extent, Math.abs(sum));
      }
    }
    state.extent = robustExtent(out) || extent || 1;
  }

  // 99th percentile of |output|: a few strong edges do not wash out every other response
  // (larger values are drawn at full colour).
  function robustExtent(out) {
    var sorted = Array.prototype.map.call(out, Math.abs).sort(function (a, b) { return a - b; });
    return sorted[Math.floor(0.99 * (sorted.length - 1))];
  }

  function paint(canvas, colourOf) {
    var pixels = offscreen.getContext("2d").createImageData(W, H);
    for (var n = 0; n < H * W; n++) {
      var c = colourOf(n);
      pixels.data[4 * n] = c[0];
      pixels.data[4 * n + 1] = c[1];
      pixels.data[4 * n + 2] = c[2];
      pixels.data[4 * n + 3] = 255;
    }
    offscreen.getContext("2d").putImageData(pixels, 0, 0);
    var context = sizeCanvas(canvas, H, W, cell);
    context.imageSmoothingEnabled = false;
    context.drawImage(offscreen, 0, 0, W * cell, H * cell);
    return context;
  }

  function outline(context, row, col, rows, cols) {
    context.lineWidth = 2;
    context.strokeStyle = "#ffb000";
    context.strokeRect(col * cell, row * cell, cols * cell, rows * cell);
  }

  function drawAll() {
    var K = state.kernel.length, r = (K - 1) / 2;
    var grey = paint(inputCanvas, function (n) {
      var g = Math.round(image[n] * 255);
      return [g, g, g];
    });
    outline(grey, state.row - r, state.col - r, K, K);
    var filtered = paint(outputCanvas, function (n) { return outputColour(state.out[n]); });
    outline(filtered, state.row, state.col, 1, 1);
    outputCaption.textContent = keepsBrightness() ?
      "output: the filtered image (the weights sum to 1, so it keeps the photo's brightness)" :
      "output: red positive, blue negative (the weights do not sum to 1)";
    showLegend();
    showDetail();
    markUpdated(app);
  }

  function showLegend() {
    clear(legend);
    if (keepsBrightness()) {
      legend.appendChild(el("span", {}, ["0"]));
      legend.appendChild(el("span", {"class": "cnnx-legend-bar",
        style: "background:linear-gradient(to right,#000,#fff)"}));
      legend.appendChild(el("span", {}, ["1"]));
      return;
    }
    var stops = [];
    for (var t = 0; t <= 8; t++) {
      stops.push(rgb(signedColour(colours, (t / 4 - 1) * state.extent, state.extent)));
    }
    legend.appendChild(el("span", {}, ["\u2264 " + fmt(-state.extent, 2)]));
    legend.appendChild(el("span", {"class": "cnnx-legend-bar",
      style: "background:linear-gradient(to right," + stops.join(",") + ")"}));
    legend.appendChild(el("span", {}, ["\u2265 " + fmt(state.extent, 2)]));
  }

  function showDetail() {
    var K = state.kernel.length, r = (K - 1) / 2, i = state.row, j = state.col;
    var window_ = [], products = [];
    for (var u = 0; u < K; u++) {
      window_.push([]);
      products.push([]);
      for (var v = 0; v < K; v++) {
        var y = i + u - r, x = j + v - r;
        var value = (y >= 0 && y < H && x >= 0 && x < W) ? image[y * W + x] : 0;
        window_[u].push(value);
        products[u].push(value * state.kernel[u][v]);
      }
    }
    var sum = state.out[i * W + j];
    clear(detail);
    detail.appendChild(el("p", {}, [
      "Output pixel ", el("span", {"data-role": "pixel", "data-row": i, "data-col": j},
                          ["(row " + i + ", column " + j + ")"]),
      ": the input window times the kernel, element by element, then summed" +
      (r > 0 ? " (zeros outside the image)." : ".")]));
    detail.appendChild(el("div", {"class": "cnnx-equation"}, [
      titled("window", numberTable(window_, 2, "window")), el("span", {}, ["\u00d7"]),
      titled("kernel", numberTable(state.kernel, digits, "kernel")), el("span", {}, ["="]),
      titled("products", numberTable(products, digits, "products", colours,
                                     maxAbs(products))),
      el("span", {}, ["\u2192"]),
      titled("sum", el("output", {"class": "cnnx-sum", "data-role": "sum",
                                  style: "background:" + rgb(outputColour(sum)) +
                                         ";color:" + textColourOn(outputColour(sum))},
                       [fmt(sum, digits)]))]));
  }

  function titled(title, node) {
    return el("div", {"class": "cnnx-titled"}, [el("div", {}, [title]), node]);
  }

  function maxAbs(rows) {
    var most = 0;
    rows.forEach(function (row) {
      row.forEach(function (v) { most = Math.max(most, Math.abs(v)); });
    });
    return most || 1;
  }

  function update() {
    filterImage();
    drawAll();
  }

  buildWeightInputs();
  update();
}
