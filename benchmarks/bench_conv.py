"""Speed of the numpy convolution and pooling layers, as ratios measured in one run.

Everything runs on ONE thread (OpenBLAS and TensorFlow), so the ratios compare algorithms, not
thread counts. The limit is this machine's single-thread float32 GEMM rate: im2col turns a
convolution into one GEMM, so the GEMM rate bounds what the fast path can reach.

Targets: fast forward >= 40% of the GEMM limit on the VGG-like layer and within 2.5x of
TensorFlow's own convolution; 2x2 max pooling within 2x of TensorFlow.

Run: python benchmarks/bench_conv.py   (or python3 tasks.py bench)
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before numpy is imported
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import time  # noqa: E402

import numpy as np  # noqa: E402

from cnncourse.nn import (  # noqa: E402
    conv2d_backward,
    conv2d_backward_loops,
    conv2d_forward,
    conv2d_forward_loops,
    maxpool2d_forward,
)

# name, x shape (N, H, W, C), kernel (KH, KW), filters F, padding, batch for the loop twin
LAYERS = [
    ("VGG-like 32x32x64->64 3x3 same", (32, 32, 32, 64), (3, 3), 64, "same", 1),
    ("LeNet C1 32x32x1->6 5x5 valid", (64, 32, 32, 1), (5, 5), 6, "valid", 4),
    ("LeNet C3 14x14x6->16 5x5 valid", (64, 14, 14, 6), (5, 5), 16, "valid", 4),
]


def best_time(fn, repeats=10, budget_s=3.0):
    """Smallest wall time of up to `repeats` calls (stops early past budget_s)."""
    times, start = [], time.perf_counter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return min(times)


def conv_flops(x_shape, kernel, filters, out_shape):
    """2 * N*Ho*Wo * KH*KW*C * F multiply-adds counted as two flops each."""
    N, Ho, Wo, _ = out_shape
    return 2 * N * Ho * Wo * kernel[0] * kernel[1] * x_shape[3] * filters


def gemm_limit():
    a = np.random.default_rng(0).normal(size=(1024, 1024)).astype(np.float32)
    b = a.T.copy()
    return 2 * 1024**3 / best_time(lambda: a @ b, repeats=15) / 1e9


def bench_layer(tf, name, shape, kernel, filters, padding, loop_batch):
    """Print forward/backward GFLOP/s, the loop/fast speedup and the ratio to TensorFlow.

    The GEMM limit is measured again just before each layer: the machine is shared, so a limit
    taken minutes earlier may not hold for the layer's timings.
    """
    limit = gemm_limit()
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(np.float32)
    w = rng.normal(size=(*kernel, shape[3], filters)).astype(np.float32) * 0.1
    b = np.zeros(filters, np.float32)
    out, cache = conv2d_forward(x, w, b, padding=padding)
    dout = np.ones_like(out)
    flops = conv_flops(shape, kernel, filters, out.shape)
    t_fwd = best_time(lambda: conv2d_forward(x, w, b, padding=padding))
    t_bwd = best_time(lambda: conv2d_backward(dout, cache))

    xs, scale = x[:loop_batch], shape[0] / loop_batch
    _, loop_cache = conv2d_forward_loops(xs, w, b, padding=padding)
    t_loop_f = scale * best_time(lambda: conv2d_forward_loops(xs, w, b, padding=padding), 2)
    t_loop_b = scale * best_time(lambda: conv2d_backward_loops(dout[:loop_batch], loop_cache), 2)

    tx, tw, tdout, tf_pad, ones = tf.constant(x), tf.constant(w), tf.constant(dout), \
        padding.upper(), [1, 1, 1, 1]
    t_tf = best_time(lambda: tf.nn.conv2d(tx, tw, 1, tf_pad).numpy())
    t_tf_b = best_time(lambda: (
        tf.raw_ops.Conv2DBackpropInput(input_sizes=shape, filter=tw, out_backprop=tdout,
                                       strides=ones, padding=tf_pad).numpy(),
        tf.raw_ops.Conv2DBackpropFilter(input=tx, filter_sizes=w.shape, out_backprop=tdout,
                                        strides=ones, padding=tf_pad).numpy()))

    fwd_rate, bwd_rate = flops / t_fwd / 1e9, 2 * flops / t_bwd / 1e9
    print(f"\n{name}, batch {shape[0]} ({flops / 1e9:.3f} GFLOP forward); "
          f"GEMM limit now {limit:.1f} GFLOP/s")
    print(f"  fast forward : {fwd_rate:6.1f} GFLOP/s = {fwd_rate / limit:.0%} of the GEMM limit;"
          f" time {t_fwd / t_tf:.2f}x TensorFlow's")
    print(f"  fast backward: {bwd_rate:6.1f} GFLOP/s = {bwd_rate / limit:.0%} of the GEMM limit;"
          f" time {t_bwd / t_tf_b:.2f}x TensorFlow's")
    print(f"  loops/fast speedup: forward {t_loop_f / t_fwd:.0f}x, "
          f"backward {t_loop_b / t_bwd:.0f}x (loops timed on batch {loop_batch}, scaled)")


def bench_max_pool(tf):
    x = np.random.default_rng(0).normal(size=(32, 32, 32, 64)).astype(np.float32)
    tx = tf.constant(x)
    t_pool = best_time(lambda: maxpool2d_forward(x, pool_size=2), repeats=30)
    t_tf = best_time(lambda: tf.nn.max_pool2d(tx, 2, 2, "VALID").numpy(), repeats=30)
    print(f"\n2x2 max pool forward, (32, 32, 32, 64): numpy {t_pool * 1e3:.2f} ms, "
          f"TensorFlow {t_tf * 1e3:.2f} ms, time {t_pool / t_tf:.2f}x TensorFlow's")


def main():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"float32 GEMM 1024x1024x1024, 1 thread (the limit): {gemm_limit():.1f} GFLOP/s")
    for layer in LAYERS:
        bench_layer(tf, *layer)
    bench_max_pool(tf)


if __name__ == "__main__":
    main()
