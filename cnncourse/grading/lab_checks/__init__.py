"""The checks of each lab function, each consulting that function's catalogue of known mistakes.

One `check_<function>` per graded function of the labs (lab 4's Keras section checks its model
inline in its notebook), used by the visible and by the hidden tests alike, so that every check
of a function names the same mistakes. One module per lab (`lab1` to `lab6`) beside what they
share (`common`);
the notebooks call them all through this package, as `lab_checks.check_conv2d_forward(...)`.
Each check

* calls the student's function through `checks.call_own` (a crash names the student's line);
* gives it the *reference* version of the functions it depends on (`corr2d`, `im2col`, the
  forward pass), and builds the cache the lab prescribes for a backward pass, so that one bug
  costs one function's points (credit isolated per function);
* compares the shape first, saying what the expected shape is made of, then the values, and
  names a known mistake when the output is the one that mistake produces (ids in
  `checks.MISTAKES`, the one catalogue).

The outputs of the known mistakes are computed from the reference implementations in
`cnncourse.nn`, `cnncourse.filters`, `cnncourse.arithmetic` and `cnncourse.metrics`; the Keras
checks of labs 5 and 6 build and inspect Keras models (lab 5's read the layers of the student's
block and name the piece missing or set wrong). Nothing here prints an input.
"""

from cnncourse.grading.lab_checks.common import (
    Mistakes,
    plain_corr2d,
    plain_im2col,
    plain_maxpool_forward,
)
from cnncourse.grading.lab_checks.lab1 import (
    check_conv1d,
    check_conv_output_size,
    check_corr2d,
    check_equivariance_gap,
    check_gradient_magnitude,
    check_shift_image,
    check_sobel_kernels,
    conv1d_mistakes,
    reference_conv1d,
    reference_corr2d,
    reference_gap,
    reference_shift,
    size_mistakes,
)
from cnncourse.grading.lab_checks.lab2 import (
    check_conv2d_backward,
    check_conv2d_forward,
    check_conv2d_forward_fast,
    check_im2col,
    conv2d_mistakes,
    conv2d_why,
    im2col_mistakes,
    reference_conv2d,
)
from cnncourse.grading.lab_checks.lab3 import (
    check_avgpool_backward,
    check_maxpool_backward,
    check_pool_forward,
    pool_forward_mistakes,
    pool_why,
    reference_pool,
)
from cnncourse.grading.lab_checks.lab4 import (
    check_init_lenet,
    check_layers,
    check_lenet_backward,
    check_lenet_forward,
    check_softmax_cross_entropy,
    check_train_lenet,
)
from cnncourse.grading.lab_checks.lab5 import (
    BlockGraph,
    check_inception_module,
    check_residual_block,
    check_separable_block,
    check_separable_cost_ratio,
    check_vgg_block,
)
from cnncourse.grading.lab_checks.lab6 import (
    check_conv_transpose2d_backward,
    check_conv_transpose2d_forward,
    check_encoder_decoder,
    check_fine_tuning,
    check_iou_per_class,
    check_mean_iou,
    check_overlap_counts,
    check_transfer_classifier,
    iou_mistakes,
    plain_iou_per_class,
    reference_overlap_counts,
    reference_transpose,
    transpose_mistakes,
    transpose_why,
)

__all__ = [
    "Mistakes",
    "plain_corr2d",
    "plain_im2col",
    "plain_maxpool_forward",
    "size_mistakes",
    "check_conv_output_size",
    "reference_conv1d",
    "conv1d_mistakes",
    "check_conv1d",
    "reference_corr2d",
    "check_corr2d",
    "check_sobel_kernels",
    "check_gradient_magnitude",
    "reference_shift",
    "check_shift_image",
    "reference_gap",
    "check_equivariance_gap",
    "conv2d_why",
    "reference_conv2d",
    "conv2d_mistakes",
    "check_conv2d_forward",
    "check_conv2d_backward",
    "im2col_mistakes",
    "check_im2col",
    "check_conv2d_forward_fast",
    "reference_pool",
    "pool_why",
    "pool_forward_mistakes",
    "check_pool_forward",
    "check_maxpool_backward",
    "check_avgpool_backward",
    "check_layers",
    "check_init_lenet",
    "check_softmax_cross_entropy",
    "check_lenet_forward",
    "check_lenet_backward",
    "check_train_lenet",
    "BlockGraph",
    "check_vgg_block",
    "check_residual_block",
    "check_inception_module",
    "check_separable_block",
    "check_separable_cost_ratio",
    "transpose_why",
    "reference_transpose",
    "transpose_mistakes",
    "check_conv_transpose2d_forward",
    "check_conv_transpose2d_backward",
    "reference_overlap_counts",
    "check_overlap_counts",
    "iou_mistakes",
    "check_iou_per_class",
    "plain_iou_per_class",
    "check_mean_iou",
    "check_encoder_decoder",
    "check_transfer_classifier",
    "check_fine_tuning",
]
