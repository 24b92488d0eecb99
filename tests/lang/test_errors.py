"""Every error a user can cause: the whole message, location and caret, and a non-zero exit."""

import pytest

from cnnspec.cli import main


# name: (spec text, the complete stderr of `cnnspec analyze spec.cnn`)
SPEC_ERRORS = {
    'quoted_label_with_a_dot': (
        'INPUT(3, 8, 8) -> "a.b": CONV(3, k=1)\n',
        'spec.cnn:1:19: error: the label "a.b" cannot name a module: a quoted label must be non-empty and hold no `.` '
        '(which separates the names of a path)\n'
        '    INPUT(3, 8, 8) -> "a.b": CONV(3, k=1)\n'
        '                      ^~~~~\n'),
    'empty_quoted_label': (
        'INPUT(3, 8, 8) -> "": CONV(3, k=1)\n',
        'spec.cnn:1:19: error: the label "" cannot name a module: a quoted label must be non-empty and hold no `.` '
        '(which separates the names of a path)\n'
        '    INPUT(3, 8, 8) -> "": CONV(3, k=1)\n'
        '                      ^~\n'),
    'input_shares': (
        'INPUT(3, 8, 8, shares=x) -> CONV(2, k=1)\n',
        'spec.cnn:1:23: error: INPUT has no weights to share\n'
        '    INPUT(3, 8, 8, shares=x) -> CONV(2, k=1)\n'
        '                          ^\n'),
    'shares_another_layer': (
        'INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> CONV(3, k=3, p=1, shares=c)\n',
        "spec.cnn:1:68: error: CONV(3, k=3, p=1, shares=c) cannot share the weights of `c`, CONV(2, k=3, p=1): a layer that shares another's weights is the same layer, with the same arguments\n"
        '    INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> CONV(3, k=3, p=1, shares=c)\n'
        '                                                                       ^\n'),
    'shares_an_unknown_label': (
        'INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> RELU -> CONV(2, k=3, p=1, shares=d)\n',
        'spec.cnn:1:76: error: `shares=d` names no earlier layer of this scope: the layers labelled before it here are `c`\n'
        '    INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> RELU -> CONV(2, k=3, p=1, shares=d)\n'
        '                                                                               ^\n'),
    'shares_no_weights': (
        'INPUT(2, 6, 6) -> c: RELU -> RELU(shares=c)\n',
        'spec.cnn:1:42: error: RELU(shares=c): RELU has no weights to share\n'
        '    INPUT(2, 6, 6) -> c: RELU -> RELU(shares=c)\n'
        '                                             ^\n'),
    'shares_weights_that_do_not_fit': (
        'INPUT(2, 6, 6) -> c: CONV(4, k=3) -> CONV(4, k=3, shares=c)\n',
        'spec.cnn:1:58: error: CONV(4, k=3, shares=c) receives 4×4×4, but `c`, whose weights it shares, receives 2×6×6: its weights would not fit\n'
        '    INPUT(2, 6, 6) -> c: CONV(4, k=3) -> CONV(4, k=3, shares=c)\n'
        '                                                             ^\n'),
    'shares_a_number': (
        'INPUT(2, 6, 6) -> CONV(2, k=3, shares=3)\n',
        'spec.cnn:1:39: error: `shares=` takes the label of an earlier layer of this scope, e.g. `shares=conv1`\n'
        '    INPUT(2, 6, 6) -> CONV(2, k=3, shares=3)\n'
        '                                          ^\n'),
    'shares_without_labels': (
        'INPUT(2, 6, 6) -> CONV(2, k=3, shares=c)\n',
        'spec.cnn:1:39: error: `shares=c` names no earlier layer of this scope: no layer before it in this scope has a label\n'
        '    INPUT(2, 6, 6) -> CONV(2, k=3, shares=c)\n'
        '                                          ^\n'),
    'shares_given_twice': (
        'INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> CONV(2, k=3, p=1, shares=c, shares=c)\n',
        'spec.cnn:1:71: error: argument `shares` is given twice\n'
        '    INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> CONV(2, k=3, p=1, shares=c, shares=c)\n'
        '                                                                          ^~~~~~\n'),
    'repeat_index_named_as_a_variable': (
        'let i = 2\nINPUT(3, 8, 8) -> [CONV(4 * (i + 1), k=1)] * 3 by i\n',
        'spec.cnn:2:51: error: the repeat index `i` has the name of a variable (`let` or `--set`): give the index '
        'another name, e.g. `by j`\n'
        '    INPUT(3, 8, 8) -> [CONV(4 * (i + 1), k=1)] * 3 by i\n'
        '                                                      ^\n'),
    'repeat_index_named_as_a_block_parameter': (
        'block b(c, i) {\n  [CONV(c + i, k=1)] * 2 by i\n}\nINPUT(3, 8, 8) -> b(4, 1)\n',
        'spec.cnn:2:29: error: the repeat index `i` has the name of a parameter of block `b`: give the index another '
        'name, e.g. `by j`\n'
        '      [CONV(c + i, k=1)] * 2 by i\n'
        '                                ^\n'
        'spec.cnn:4:19: note: in the call b(4, 1)\n'
        '    INPUT(3, 8, 8) -> b(4, 1)\n'
        '                      ^~~~~~~\n'),
    'repeat_index_named_as_an_outer_index': (
        'INPUT(3, 8, 8) -> [[CONV(4, k=1)] * 2 by i] * 3 by i\n',
        'spec.cnn:1:42: error: the repeat index `i` has the name of the index of the repeat around it (line 1): give '
        'the index another name, e.g. `by j`\n'
        '    INPUT(3, 8, 8) -> [[CONV(4, k=1)] * 2 by i] * 3 by i\n'
        '                                             ^\n'),
    'repeat_index_used_after_its_repeat': (
        'INPUT(3, 8, 8) -> [CONV(4, k=1)] * 2 by i -> CONV(4 * i, k=1)\n',
        'spec.cnn:1:55: error: undefined variable `i`: the repeat at line 1 names its index `i`, which only the '
        'expressions written inside that repeat see (a block called there takes it as an argument)\n'
        '    INPUT(3, 8, 8) -> [CONV(4, k=1)] * 2 by i -> CONV(4 * i, k=1)\n'
        '                                                          ^\n'),
    'repeat_index_used_in_a_block_called_there': (
        'block b(c) {\n  CONV(c * i, k=1)\n}\nINPUT(3, 8, 8) -> [b(4)] * 2 by i\n',
        'spec.cnn:2:12: error: undefined variable `i`: the repeat at line 4 names its index `i`, which only the '
        'expressions written inside that repeat see (a block called there takes it as an argument)\n'
        '      CONV(c * i, k=1)\n'
        '               ^\n'
        'spec.cnn:4:20: note: in the call b(4)\n'
        '    INPUT(3, 8, 8) -> [b(4)] * 2 by i\n'
        '                       ^~~~\n'),
    'attnpool_on_1d': (
        'INPUT(8, 16) -> ATTNPOOL\n',
        'spec.cnn:1:17: error: ATTNPOOL takes a 2-D map (C×H×W), not 8×16\n'
        '    INPUT(8, 16) -> ATTNPOOL\n'
        '                    ^~~~~~~~\n'),
    'add_of_a_map_and_a_vector_of_other_channels': (
        'INPUT(8, 4, 4) -> ADD { [] | GAP -> CONV(4, k=1) }\n',
        'spec.cnn:1:19: error: ADD {…}: branch 1 ends with 8×4×4 but branch 2 ends with 4×1×1; ADD needs equal shapes '
        '(or one value per channel, C×1×1, added at every position)\n'
        '    INPUT(8, 4, 4) -> ADD { [] | GAP -> CONV(4, k=1) }\n'
        '                      ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n'
        'spec.cnn:1:25: note: branch 1 ends here, with 8×4×4\n'
        '    INPUT(8, 4, 4) -> ADD { [] | GAP -> CONV(4, k=1) }\n'
        '                            ^~\n'
        'spec.cnn:1:37: note: branch 2 ends here, with 4×1×1\n'
        '    INPUT(8, 4, 4) -> ADD { [] | GAP -> CONV(4, k=1) }\n'
        '                                        ^~~~~~~~~~~~\n'),
    'channelconv_on_a_map': (
        'INPUT(8, 4, 4) -> CHANNELCONV(3)\n',
        'spec.cnn:1:19: error: CHANNELCONV(3) slides along the channels of a C×1×1 map (after GAP), not of 8×4×4\n'
        '    INPUT(8, 4, 4) -> CHANNELCONV(3)\n'
        '                      ^~~~~~~~~~~~~~\n'),
    'channelconv_even': (
        'INPUT(8, 1, 1) -> CHANNELCONV(4)\n',
        'spec.cnn:1:31: error: CHANNELCONV(4): k=4 is even, so the 8 channels cannot keep their number\n'
        '    INPUT(8, 1, 1) -> CHANNELCONV(4)\n'
        '                                  ^\n'),
    'wsconv_on_1d': (
        'INPUT(3, 16) -> WSCONV(8, k=3)\n',
        'spec.cnn:1:17: error: WSCONV(8, k=3) takes a 2-D map (C×H×W), not 3×16\n'
        '    INPUT(3, 16) -> WSCONV(8, k=3)\n'
        '                    ^~~~~~~~~~~~~~\n'),
    'space_to_depth_untiled': (
        'INPUT(3, 10, 8) -> SPACETODEPTH(4)\n',
        'spec.cnn:1:33: error: SPACETODEPTH(4): blocks of 4×4 do not tile the 10×8 positions\n'
        '    INPUT(3, 10, 8) -> SPACETODEPTH(4)\n'
        '                                    ^\n'),
    'space_to_depth_on_1d': (
        'INPUT(3, 16) -> SPACETODEPTH(4)\n',
        'spec.cnn:1:17: error: SPACETODEPTH(4) takes a 2-D map (C×H×W), not 3×16\n'
        '    INPUT(3, 16) -> SPACETODEPTH(4)\n'
        '                    ^~~~~~~~~~~~~~~\n'),
    'blurpool_reflect_too_small': (
        'INPUT(3, 1, 1) -> BLURPOOL\n',
        'spec.cnn:1:19: error: BLURPOOL: reflect padding of 1 needs at least 2 positions on each axis, but the input '
        'is 3×1×1\n'
        '    INPUT(3, 1, 1) -> BLURPOOL\n'
        '                      ^~~~~~~~\n'),
    'blurpool_on_1d': (
        'INPUT(3, 16) -> BLURPOOL(3)\n',
        'spec.cnn:1:17: error: BLURPOOL(3) takes a 2-D map (C×H×W), not 3×16\n'
        '    INPUT(3, 16) -> BLURPOOL(3)\n'
        '                    ^~~~~~~~~~~\n'),
    'grn_on_a_vector': (
        'INPUT(3) -> GRN\n',
        'spec.cnn:1:13: error: GRN needs an input with spatial axes (C×L, C×H×W or C×D×H×W), but receives a vector '
        'of 3 features\n'
        '    INPUT(3) -> GRN\n'
        '                ^~~\n'),
    'slice_past_the_channels': (
        'INPUT(8, 4, 4) -> SLICE(12, start=2)\n',
        'spec.cnn:1:25: error: SLICE(12, start=2): stop=12 is past the 8 channels it receives\n'
        '    INPUT(8, 4, 4) -> SLICE(12, start=2)\n'
        '                            ^~\n'),
    'slice_empty': (
        'INPUT(8, 4, 4) -> SLICE(3, start=5)\n',
        'spec.cnn:1:28: error: SLICE(3, start=5): start=5 is not before stop=3, so the slice has no channel\n'
        '    INPUT(8, 4, 4) -> SLICE(3, start=5)\n'
        '                               ^~~~~~~\n'),
    'slice_starts_past_the_channels': (
        'INPUT(8, 4, 4) -> SLICE(start=8)\n',
        'spec.cnn:1:25: error: SLICE(start=8): start=8 leaves none of the 8 channels it receives\n'
        '    INPUT(8, 4, 4) -> SLICE(start=8)\n'
        '                            ^~~~~~~\n'),
    'slice_stops_at_zero': (
        'INPUT(8, 4, 4) -> SLICE(0)\n',
        'spec.cnn:1:25: error: `stop` of SLICE must be at least 1, not 0\n'
        '    INPUT(8, 4, 4) -> SLICE(0)\n'
        '                            ^\n'),
    'randint_empty_range': (
        'INPUT(1, 8, 8) -> CONV(randint(5, 3), k=3)\n',
        'spec.cnn:1:24: error: `randint(5, 3)` draws from an empty range: its first bound must not be above its '
        'second\n'
        '    INPUT(1, 8, 8) -> CONV(randint(5, 3), k=3)\n'
        '                           ^~~~~~~~~~~~~\n',
    ),
    'randint_huge_range': (
        'INPUT(1, 8, 8) -> CONV(randint(1, 1000000000), k=3)\n',
        'spec.cnn:1:24: error: `randint` draws from at most 100,000,000 values, not 1,000,000,000\n'
        '    INPUT(1, 8, 8) -> CONV(randint(1, 1000000000), k=3)\n'
        '                           ^~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'randint_not_whole': (
        'INPUT(1, 8, 8) -> CONV(randint(1, 2.5), k=3)\n',
        'spec.cnn:1:35: error: expected a whole number here, not 2.5\n'
        '    INPUT(1, 8, 8) -> CONV(randint(1, 2.5), k=3)\n'
        '                                      ^~~\n',
    ),
    'choice_of_one': (
        'INPUT(1, 8, 8) -> CONV(choice(4), k=3)\n',
        'spec.cnn:1:24: error: `choice` takes at least 2 arguments, not 1\n'
        '    INPUT(1, 8, 8) -> CONV(choice(4), k=3)\n'
        '                           ^~~~~~~~~\n',
    ),
    'unknown_function_lists_the_draws': (
        'INPUT(1, 8, 8) -> CONV(fancy(4), k=3)\n',
        'spec.cnn:1:24: error: unknown function `fancy`; the functions are `min`, `max`, `round`, `floor`, `ceil`, '
        '`abs`, `choice` and `randint`\n'
        '    INPUT(1, 8, 8) -> CONV(fancy(4), k=3)\n'
        '                           ^~~~~\n',
    ),
    'missing_paren': (
        'INPUT(1, 28, 28)\n'
        '-> CONV(6, k=5 -> RELU\n',
        'spec.cnn:2:16: error: expected `)` or `,` but found `->`\n'
        '    -> CONV(6, k=5 -> RELU\n'
        '                   ^~\n',
    ),
    'missing_paren_eof': (
        'INPUT(1, 28, 28) -> CONV(6, k=5',
        'spec.cnn:1:32: error: expected `)` or `,` but found end of input\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=5\n'
        '                                   ^\n',
    ),
    'missing_bracket': (
        'INPUT(1, 28, 28) -> [CONV(6, k=3) -> RELU',
        'spec.cnn:1:42: error: expected `]` but found end of input\n'
        '    INPUT(1, 28, 28) -> [CONV(6, k=3) -> RELU\n'
        '                                             ^\n',
    ),
    'dangling_arrow': (
        'INPUT(1, 28, 28) -> CONV(6, k=3) ->\n',
        'spec.cnn:1:36: error: expected a layer or `[` but found end of input\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=3) ->\n'
        '                                       ^\n',
    ),
    'missing_arrow': (
        'INPUT(1, 28, 28) -> CONV(6, k=3) RELU',
        'spec.cnn:1:34: error: expected `->`, `*` or end of input but found `RELU`\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=3) RELU\n'
        '                                     ^~~~\n',
    ),
    'bad_character': (
        'INPUT(1, 28, 28) -> CONV(6, k=3) $ RELU',
        'spec.cnn:1:34: error: unexpected character `$`\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=3) $ RELU\n'
        '                                     ^\n',
    ),
    'unknown_layer': (
        'INPUT(1, 28, 28) -> CONVV(6, k=5)',
        'spec.cnn:1:21: error: unknown layer or block `CONVV`; did you mean `CONV`?\n'
        '    INPUT(1, 28, 28) -> CONVV(6, k=5)\n'
        '                        ^~~~~\n',
    ),
    'unknown_layer_no_suggestion': (
        'INPUT(1, 28, 28) -> TRANSFORMER(6)',
        'spec.cnn:1:21: error: unknown layer or block `TRANSFORMER`\n'
        '    INPUT(1, 28, 28) -> TRANSFORMER(6)\n'
        '                        ^~~~~~~~~~~\n',
    ),
    'unknown_argument': (
        'INPUT(1, 28, 28) -> CONV(6, k=5, stirde=2)',
        'spec.cnn:1:34: error: CONV has no argument `stirde`; did you mean `stride`?\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=5, stirde=2)\n'
        '                                     ^~~~~~\n',
    ),
    'missing_argument': (
        'INPUT(1, 28, 28) -> CONV(6)',
        'spec.cnn:1:21: error: CONV needs `k` (kernel size): give it here, e.g. CONV(32, k=3, p=1), or in a `default CONV(...)` statement before the network\n'
        '    INPUT(1, 28, 28) -> CONV(6)\n'
        '                        ^~~~~~~\n',
    ),
    'duplicate_argument': (
        'INPUT(1, 28, 28) -> CONV(6, k=5, kernel_size=3)',
        'spec.cnn:1:34: error: argument `k` of CONV is given twice\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=5, kernel_size=3)\n'
        '                                     ^~~~~~~~~~~\n',
    ),
    'wrong_type': (
        'INPUT(1, 28, 28) -> CONV(6, k=2.5)',
        'spec.cnn:1:31: error: `k` of CONV must be a whole number or a tuple of whole numbers, not 2.5\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=2.5)\n'
        '                                  ^~~\n',
    ),
    'wrong_type_bool': (
        'INPUT(1, 28, 28) -> CONV(6, k=5, bias=1)',
        'spec.cnn:1:39: error: `bias` of CONV must be true or false, not 1\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=5, bias=1)\n'
        '                                          ^\n',
    ),
    'tuple_rank': (
        'INPUT(1, 28, 28) -> CONV(6, k=(5, 3, 3))',
        'spec.cnn:1:29: error: `k=(5, 3, 3)` has 3 values but the input of CONV(6, k=(5, 3, 3)) has 2 spatial axes (1×28×28)\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=(5, 3, 3))\n'
        '                                ^~~~~~~~~~~\n',
    ),
    'undefined_variable_suggest': (
        'let width = 32\n'
        'INPUT(1, 28, 28) -> CONV(widht, k=3)',
        'spec.cnn:2:26: error: undefined variable `widht`; did you mean `width`?\n'
        '    INPUT(1, 28, 28) -> CONV(widht, k=3)\n'
        '                             ^~~~~\n',
    ),
    'undefined_variable': (
        'INPUT(1, 28, 28) -> [CONV(6, k=3) -> RELU] * N',
        'spec.cnn:1:46: error: undefined variable `N`; define it with `let N = ...` or on the command line with `--set N=...`\n'
        '    INPUT(1, 28, 28) -> [CONV(6, k=3) -> RELU] * N\n'
        '                                                 ^\n',
    ),
    'negative_repeat': (
        'INPUT(1, 28, 28) -> [CONV(6, k=3, p=1)] * -1',
        'spec.cnn:1:43: error: a repeat count must be 0 or more, not -1\n'
        '    INPUT(1, 28, 28) -> [CONV(6, k=3, p=1)] * -1\n'
        '                                              ^~\n',
    ),
    'huge_repeat': (
        'INPUT(1, 28, 28) -> [RELU] * 100000',
        'spec.cnn:1:30: error: repeat count 100,000 is above the limit of 10,000\n'
        '    INPUT(1, 28, 28) -> [RELU] * 100000\n'
        '                                 ^~~~~~\n',
    ),
    'fractional_repeat': (
        'INPUT(1, 28, 28) -> [RELU] * 2.5',
        'spec.cnn:1:30: error: a repeat count must be a whole number, not 2.5\n'
        '    INPUT(1, 28, 28) -> [RELU] * 2.5\n'
        '                                 ^~~\n',
    ),
    'huge_size': (
        'INPUT(1, 28, 28) -> CONV(1000000000, k=3)',
        'spec.cnn:1:26: error: `out` of CONV is 1,000,000,000, above the limit of 100,000,000 for a size\n'
        '    INPUT(1, 28, 28) -> CONV(1000000000, k=3)\n'
        '                             ^~~~~~~~~~\n',
    ),
    'too_many_layers': (
        'INPUT(1, 28, 28) -> [[RELU] * 1000] * 1000',
        'spec.cnn:1:21: error: the network expands to more than 20,000 layers\n'
        '    INPUT(1, 28, 28) -> [[RELU] * 1000] * 1000\n'
        '                        ^~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'smaller_than_kernel': (
        'INPUT(8, 3, 3) -> CONV(8, k=5)',
        'spec.cnn:1:19: error: CONV(8, k=5): input is 8×3×3, smaller than the 5×5 kernel\n'
        '    INPUT(8, 3, 3) -> CONV(8, k=5)\n'
        '                      ^~~~~~~~~~~~\n',
    ),
    'smaller_than_dilated_kernel': (
        'INPUT(8, 3, 3) -> CONV(8, k=5, p=1, d=2)',
        'spec.cnn:1:19: error: CONV(8, k=5, p=1, d=2): input is 8×3×3, padded to 5×5, smaller than the 5×5 kernel (dilated to 9×9)\n'
        '    INPUT(8, 3, 3) -> CONV(8, k=5, p=1, d=2)\n'
        '                      ^~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'pool_smaller_than_window': (
        'INPUT(64, 1, 1) -> MAXPOOL(2)',
        'spec.cnn:1:20: error: MAXPOOL(2): input is 64×1×1, smaller than the 2×2 window\n'
        '    INPUT(64, 1, 1) -> MAXPOOL(2)\n'
        '                       ^~~~~~~~~~\n',
    ),
    'same_with_stride': (
        'INPUT(8, 9, 9) -> CONV(8, k=3, s=2, p=same)',
        "spec.cnn:1:37: error: CONV(8, k=3, s=2, p=same): `p=same` needs stride 1; PyTorch refuses 'same' padding with stride 2\n"
        '    INPUT(8, 9, 9) -> CONV(8, k=3, s=2, p=same)\n'
        '                                        ^~~~~~\n',
    ),
    'groups_in': (
        'INPUT(32, 9, 9) -> CONV(8, k=3, g=3)',
        'spec.cnn:1:33: error: CONV(8, k=3, g=3): g=3 does not divide the 32 input channels\n'
        '    INPUT(32, 9, 9) -> CONV(8, k=3, g=3)\n'
        '                                    ^~~\n',
    ),
    'groups_out': (
        'INPUT(32, 9, 9) -> CONV(10, k=3, g=4)',
        'spec.cnn:1:34: error: CONV(10, k=3, g=4): g=4 does not divide the 10 output channels\n'
        '    INPUT(32, 9, 9) -> CONV(10, k=3, g=4)\n'
        '                                     ^~~\n',
    ),
    'pool_padding': (
        'INPUT(32, 8, 8) -> MAXPOOL(3, p=2)',
        'spec.cnn:1:31: error: MAXPOOL(3, p=2): padding 2 is more than half the 3×3 window; PyTorch allows at most 1\n'
        '    INPUT(32, 8, 8) -> MAXPOOL(3, p=2)\n'
        '                                  ^~~\n',
    ),
    'fc_in': (
        'INPUT(512, 6, 6) -> FC(10, in=2*2*512)',
        'spec.cnn:1:28: error: FC(10, in=2*2*512) expects 2048 inputs but receives 18432 = 512×6×6\n'
        '    INPUT(512, 6, 6) -> FC(10, in=2*2*512)\n'
        '                               ^~~~~~~~~~\n',
    ),
    'fc_in_vector': (
        'INPUT(4096) -> FC(10, in=2048)',
        'spec.cnn:1:23: error: FC(10, in=2048) expects 2048 inputs but receives 4096\n'
        '    INPUT(4096) -> FC(10, in=2048)\n'
        '                          ^~~~~~~\n',
    ),
    'conv_in': (
        'INPUT(64, 6, 6) -> CONV(64, k=3, in=32)',
        'spec.cnn:1:34: error: CONV(64, k=3, in=32) expects 32 input channels but receives 64 (input 64×6×6)\n'
        '    INPUT(64, 6, 6) -> CONV(64, k=3, in=32)\n'
        '                                     ^~~~~\n',
    ),
    'no_input': (
        'CONV(6, k=3) -> RELU',
        'spec.cnn:1:1: error: the network must start with INPUT(...), the shape of one sample, e.g. INPUT(3, 32, 32)\n'
        '    CONV(6, k=3) -> RELU\n'
        '    ^~~~~~~~~~~~\n',
    ),
    'no_input_group': (
        '[CONV(6, k=3) -> RELU] * 2',
        'spec.cnn:1:1: error: the network must start with INPUT(...), the shape of one sample, e.g. INPUT(3, 32, 32)\n'
        '    [CONV(6, k=3) -> RELU] * 2\n'
        '    ^~~~~~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'input_twice': (
        'INPUT(1, 28, 28) -> RELU -> INPUT(3, 8, 8)',
        'spec.cnn:1:29: error: INPUT can only be the first layer of the network\n'
        '    INPUT(1, 28, 28) -> RELU -> INPUT(3, 8, 8)\n'
        '                                ^~~~~\n',
    ),
    'input_rank': (
        'INPUT(1, 28, 28, 3, 3) -> RELU',
        'spec.cnn:1:7: error: `shape` of INPUT must be the channels then 0 to 3 spatial sizes (C, C×L, C×H×W or C×D×H×W), not 5 numbers\n'
        '    INPUT(1, 28, 28, 3, 3) -> RELU\n'
        '          ^~~~~~~~~~~~~~~\n',
    ),
    'conv_on_vector': (
        'INPUT(784) -> CONV(3, k=3)',
        'spec.cnn:1:15: error: CONV(3, k=3) needs an input with spatial axes (C×L, C×H×W or C×D×H×W), but receives a vector of 784 features\n'
        '    INPUT(784) -> CONV(3, k=3)\n'
        '                  ^~~~~~~~~~~~\n',
    ),
    'template': (
        'INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC',
        'spec.cnn:1:1: error: INPUT needs `shape` (channels then spatial sizes): give it here, e.g. INPUT(3, 32, 32), or in a `default INPUT(...)` statement before the network\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '    ^~~~~\n'
        'spec.cnn:1:12: error: CONV needs `out` (output channels) and `k` (kernel size): give them here, e.g. CONV(32, k=3, p=1), or in a `default CONV(...)` statement before the network\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '               ^~~~\n'
        'spec.cnn:1:28: error: undefined variable `N`; define it with `let N = ...` or on the command line with `--set N=...`\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                               ^\n'
        'spec.cnn:1:33: error: POOL needs `k` (window size): give it here, e.g. MAXPOOL(2), or in a `default POOL(...)` statement before the network\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                                    ^~~~\n'
        'spec.cnn:1:41: error: undefined variable `M`; define it with `let M = ...` or on the command line with `--set M=...`\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                                            ^\n'
        'spec.cnn:1:47: error: FC needs `out` (output features): give it here, e.g. FC(10), or in a `default FC(...)` statement before the network\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                                                  ^~\n'
        'spec.cnn:1:61: error: undefined variable `K`; define it with `let K = ...` or on the command line with `--set K=...`\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                                                                ^\n'
        'spec.cnn:1:66: error: FC needs `out` (output features): give it here, e.g. FC(10), or in a `default FC(...)` statement before the network\n'
        '    INPUT -> [[CONV -> RELU] * N -> POOL] * M -> [FC -> RELU] * K -> FC\n'
        '                                                                     ^~\n',
    ),
    'two_positionals': (
        'INPUT(1, 28, 28) -> CONV(6, 5)',
        'spec.cnn:1:29: error: CONV takes one positional argument (out, output channels); give the others by name, e.g. CONV(32, k=3, p=1)\n'
        '    INPUT(1, 28, 28) -> CONV(6, 5)\n'
        '                                ^\n',
    ),
    'positional_after_keyword': (
        'INPUT(1, 28, 28) -> CONV(k=5, 6)',
        'spec.cnn:1:31: error: a positional argument cannot follow a keyword argument\n'
        '    INPUT(1, 28, 28) -> CONV(k=5, 6)\n'
        '                                  ^\n',
    ),
    'inexact_division': (
        'INPUT(1, 28, 28) -> CONV(6, k=7/2)',
        'spec.cnn:1:32: error: 7 / 2 does not divide exactly; write `//` to round down\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=7/2)\n'
        '                                   ^\n',
    ),
    'division_by_zero': (
        'let Z = 0\n'
        'INPUT(1, 28, 28) -> CONV(6 // Z, k=3)',
        'spec.cnn:2:31: error: division by zero\n'
        '    INPUT(1, 28, 28) -> CONV(6 // Z, k=3)\n'
        '                                  ^\n',
    ),
    'padding_word': (
        'INPUT(1, 28, 28) -> CONV(6, k=3, p=sam)',
        'spec.cnn:1:36: error: `p` of CONV must be a whole number, a tuple of whole numbers, `same` or `valid`, not `sam`; did you mean `same`?\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=3, p=sam)\n'
        '                                       ^~~\n',
    ),
    'resize_mode_word': (
        'INPUT(1, 28, 28) -> RESIZE(scale=0.5, mode=bilnear)',
        'spec.cnn:1:44: error: `mode` of RESIZE must be one of `nearest`, `nearest-exact`, `linear`, `bilinear`, `bicubic`, `trilinear` or `area`, not `bilnear`; did you mean `bilinear`?\n'
        '    INPUT(1, 28, 28) -> RESIZE(scale=0.5, mode=bilnear)\n'
        '                                               ^~~~~~~\n',
    ),
    'resize_mode_rank': (
        'INPUT(1, 28) -> RESIZE(scale=2, mode=bilinear)',
        'spec.cnn:1:33: error: RESIZE(scale=2, mode=bilinear): mode `bilinear` works on 2-D inputs, but the input 1×28 is 1-D\n'
        '    INPUT(1, 28) -> RESIZE(scale=2, mode=bilinear)\n'
        '                                    ^~~~~~~~~~~~~\n',
    ),
    'resize_both': (
        'INPUT(1, 28, 28) -> RESIZE(scale=2, size=14)',
        'spec.cnn:1:21: error: RESIZE(scale=2, size=14) needs exactly one of `size=` and `scale=`\n'
        '    INPUT(1, 28, 28) -> RESIZE(scale=2, size=14)\n'
        '                        ^~~~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'dropout_range': (
        'INPUT(10) -> DROPOUT(1.5)',
        'spec.cnn:1:22: error: `p` of DROPOUT must be at most 1, not 1.5\n'
        '    INPUT(10) -> DROPOUT(1.5)\n'
        '                         ^~~\n',
    ),
    'negative_kernel': (
        'INPUT(1, 28, 28) -> CONV(6, k=-3)',
        'spec.cnn:1:31: error: `k` of CONV must be at least 1, not -3\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=-3)\n'
        '                                  ^~\n',
    ),
    'same_on_kernel': (
        'INPUT(1, 28, 28) -> CONV(6, k=same)',
        'spec.cnn:1:31: error: `k` of CONV cannot be `same`; only padding can\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=same)\n'
        '                                  ^~~~\n',
    ),
    'default_unknown': (
        'default CONVV(6)\n'
        'INPUT(1, 28, 28) -> RELU',
        'spec.cnn:1:9: error: unknown layer `CONVV`; did you mean `CONV`?\n'
        '    default CONVV(6)\n'
        '            ^~~~~\n',
    ),
    'nested_tuple': (
        'INPUT(1, 28, 28) -> CONV(6, k=((1, 2), 3))',
        'spec.cnn:1:32: error: tuples cannot be nested\n'
        '    INPUT(1, 28, 28) -> CONV(6, k=((1, 2), 3))\n'
        '                                   ^~~~~~\n',
    ),
    'residual_shapes': (
        'block basic(c, s=1, proj=false) {\n'
        '  ADD {\n'
        '       CONV(c, k=3, s=s, p=1, bias=false) -> BN -> RELU -> CONV(c, k=3, p=1, bias=false) -> BN\n'
        '     | [CONV(c, k=1, s=s, bias=false) -> BN] * proj\n'
        '  } -> RELU\n'
        '}\n'
        'INPUT(64, 56, 56) -> basic(64) -> basic(128, s=2)',
        'spec.cnn:2:3: error: ADD {…}: branch 1 ends with 128×28×28 but branch 2 ends with 64×56×56; ADD needs equal shapes (or one value per channel, C×1×1, added at every position)\n'
        '      ADD {\n'
        '      ^~~~~\n'
        'spec.cnn:3:93: note: branch 1 ends here, with 128×28×28\n'
        '           CONV(c, k=3, s=s, p=1, bias=false) -> BN -> RELU -> CONV(c, k=3, p=1, bias=false) -> BN\n'
        '                                                                                                ^~\n'
        'spec.cnn:4:8: note: branch 2 ends here, with 64×56×56\n'
        '         | [CONV(c, k=1, s=s, bias=false) -> BN] * proj\n'
        '           ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n'
        'spec.cnn:7:35: note: in the call basic(128, s=2)\n'
        '    INPUT(64, 56, 56) -> basic(64) -> basic(128, s=2)\n'
        '                                      ^~~~~~~~~~~~~~~\n',
    ),
    'concat_spatial': (
        'INPUT(64, 28, 28) -> CONCAT {\n'
        '    CONV(32, k=3)\n'
        '  | CONV(32, k=1)\n'
        '}',
        'spec.cnn:1:22: error: CONCAT {…}: branch 1 ends with 32×26×26 but branch 2 ends with 32×28×28; CONCAT joins channels and needs the same spatial size\n'
        '    INPUT(64, 28, 28) -> CONCAT {\n'
        '                         ^~~~~~~~\n'
        'spec.cnn:2:5: note: branch 1 ends here, with 32×26×26\n'
        '        CONV(32, k=3)\n'
        '        ^~~~~~~~~~~~~\n'
        'spec.cnn:3:5: note: branch 2 ends here, with 32×28×28\n'
        '      | CONV(32, k=1)\n'
        '        ^~~~~~~~~~~~~\n',
    ),
    'concat_rank': (
        'INPUT(64, 28, 28) -> CONCAT { GAP -> FLATTEN | CONV(32, k=1) }',
        'spec.cnn:1:22: error: CONCAT {…}: branch 1 ends with 64 but branch 2 ends with 32×28×28; CONCAT joins channels and needs the same number of axes\n'
        '    INPUT(64, 28, 28) -> CONCAT { GAP -> FLATTEN | CONV(32, k=1) }\n'
        '                         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n'
        'spec.cnn:1:38: note: branch 1 ends here, with 64\n'
        '    INPUT(64, 28, 28) -> CONCAT { GAP -> FLATTEN | CONV(32, k=1) }\n'
        '                                         ^~~~~~~\n'
        'spec.cnn:1:48: note: branch 2 ends here, with 32×28×28\n'
        '    INPUT(64, 28, 28) -> CONCAT { GAP -> FLATTEN | CONV(32, k=1) }\n'
        '                                                   ^~~~~~~~~~~~~\n',
    ),
    'mul_broadcast': (
        'INPUT(64, 28, 28) -> MUL { [] | GAP -> CONV(32, k=1) -> SIGMOID }',
        'spec.cnn:1:22: error: MUL {…}: branch 1 ends with 64×28×28 but branch 2 ends with 32×1×1; MUL needs equal sizes, or 1, on every axis\n'
        '    INPUT(64, 28, 28) -> MUL { [] | GAP -> CONV(32, k=1) -> SIGMOID }\n'
        '                         ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n'
        'spec.cnn:1:28: note: branch 1 ends here, with 64×28×28\n'
        '    INPUT(64, 28, 28) -> MUL { [] | GAP -> CONV(32, k=1) -> SIGMOID }\n'
        '                               ^~\n'
        'spec.cnn:1:57: note: branch 2 ends here, with 32×1×1\n'
        '    INPUT(64, 28, 28) -> MUL { [] | GAP -> CONV(32, k=1) -> SIGMOID }\n'
        '                                                            ^~~~~~~\n',
    ),
    'block_used_before_definition': (
        'block outer(c) { inner(c) -> RELU }\n'
        'block inner(c) { CONV(c, k=3, p=1) }\n'
        'INPUT(3, 8, 8) -> outer(8)',
        'spec.cnn:1:18: error: block `inner` is used before it is defined (at line 2); define blocks before the layers and blocks that use them\n'
        '    block outer(c) { inner(c) -> RELU }\n'
        '                     ^~~~~\n'
        'spec.cnn:3:19: note: in the call outer(8)\n'
        '    INPUT(3, 8, 8) -> outer(8)\n'
        '                      ^~~~~~~~\n',
    ),
    'block_network_before_definition': (
        'INPUT(3, 8, 8) -> unit(8)\n'
        'block unit(c) { CONV(c, k=3, p=1) }',
        'spec.cnn:2:1: error: `block` statements come before the network: move this one above the line that starts with INPUT(...)\n'
        '    block unit(c) { CONV(c, k=3, p=1) }\n'
        '    ^~~~~\n',
    ),
    'block_unknown_parameter': (
        'block unit(c, k=3) { CONV(c, k=k, p=k // 2) }\n'
        'INPUT(3, 8, 8) -> unit(8, kernel=5)',
        'spec.cnn:2:27: error: block `unit` has no parameter `kernel`\n'
        '    INPUT(3, 8, 8) -> unit(8, kernel=5)\n'
        '                              ^~~~~~\n',
    ),
    'block_too_many_arguments': (
        'block unit(c) { CONV(c, k=3, p=1) }\n'
        'INPUT(3, 8, 8) -> unit(8, 3)',
        'spec.cnn:2:27: error: block `unit` takes 1 argument (c) but is given 2\n'
        '    INPUT(3, 8, 8) -> unit(8, 3)\n'
        '                              ^\n',
    ),
    'block_missing_argument': (
        'block unit(c) { CONV(c, k=3, p=1) }\n'
        'INPUT(3, 8, 8) -> unit()',
        'spec.cnn:2:19: error: block `unit` needs its parameter `c`\n'
        '    INPUT(3, 8, 8) -> unit()\n'
        '                      ^~~~~~\n',
    ),
    'block_argument_twice': (
        'block unit(c) { CONV(c, k=3, p=1) }\n'
        'INPUT(3, 8, 8) -> unit(8, c=4)',
        'spec.cnn:2:27: error: argument `c` of block `unit` is given twice\n'
        '    INPUT(3, 8, 8) -> unit(8, c=4)\n'
        '                              ^\n',
    ),
    'block_recursion': (
        'block tower(c) {\n'
        '  CONV(c, k=3, p=1) -> tower(c)\n'
        '}\n'
        'INPUT(3, 8, 8) -> tower(8)',
        'spec.cnn:2:24: error: block `tower` calls itself (tower → tower); blocks cannot be recursive\n'
        '      CONV(c, k=3, p=1) -> tower(c)\n'
        '                           ^~~~~~~~\n'
        'spec.cnn:4:19: note: in the call tower(8)\n'
        '    INPUT(3, 8, 8) -> tower(8)\n'
        '                      ^~~~~~~~\n',
    ),
    'block_unknown_name_in_body': (
        'block unit(c) {\n'
        '  CONV(c, k=3, p=1)\n'
        '  -> BATCHNROM\n'
        '}\n'
        'INPUT(3, 8, 8) -> unit(8)',
        'spec.cnn:3:6: error: unknown layer or block `BATCHNROM`; did you mean `BATCHNORM`?\n'
        '      -> BATCHNROM\n'
        '         ^~~~~~~~~\n'
        'spec.cnn:5:19: note: in the call unit(8)\n'
        '    INPUT(3, 8, 8) -> unit(8)\n'
        '                      ^~~~~~~\n',
    ),
    'block_undefined_variable_in_body': (
        'block unit(c) {\n'
        '  CONV(width, k=3, p=1)\n'
        '}\n'
        'INPUT(3, 8, 8) -> unit(8)',
        'spec.cnn:2:8: error: undefined variable `width`; define it with `let width = ...` or on the command line with `--set width=...`\n'
        '      CONV(width, k=3, p=1)\n'
        '           ^~~~~\n'
        'spec.cnn:4:19: note: in the call unit(8)\n'
        '    INPUT(3, 8, 8) -> unit(8)\n'
        '                      ^~~~~~~\n',
    ),
    'block_shape_error_in_body': (
        'block unit(c) {\n'
        '  CONV(c, k=5)\n'
        '}\n'
        'INPUT(3, 8, 8) -> unit(8) -> unit(8)',
        'spec.cnn:2:3: error: CONV(c, k=5): input is 8×4×4, smaller than the 5×5 kernel\n'
        '      CONV(c, k=5)\n'
        '      ^~~~~~~~~~~~\n'
        'spec.cnn:4:30: note: in the call unit(8)\n'
        '    INPUT(3, 8, 8) -> unit(8) -> unit(8)\n'
        '                                 ^~~~~~~\n',
    ),
    'block_named_like_a_layer': (
        'block relu(c) { CONV(c, k=1) }\n'
        'INPUT(3, 8, 8) -> RELU',
        'spec.cnn:1:7: error: a block cannot be named `relu`: that is the name of a layer kind\n'
        '    block relu(c) { CONV(c, k=1) }\n'
        '          ^~~~\n',
    ),
    'block_defined_twice': (
        'block unit(c) { CONV(c, k=1) }\n'
        'block unit(c) { CONV(c, k=3) }\n'
        'INPUT(3, 8, 8) -> unit(4)',
        'spec.cnn:2:7: error: block `unit` is already defined (at line 1)\n'
        '    block unit(c) { CONV(c, k=3) }\n'
        '          ^~~~\n',
    ),
    'block_parameter_twice': (
        'block unit(c, c) { CONV(c, k=1) }\n'
        'INPUT(3, 8, 8) -> unit(4, 4)',
        'spec.cnn:1:15: error: parameter `c` of block `unit` is declared twice\n'
        '    block unit(c, c) { CONV(c, k=1) }\n'
        '                  ^\n',
    ),
    'layer_with_braces': (
        'INPUT(3, 8, 8) -> CONV { CONV(8, k=1) | CONV(8, k=1) }',
        'spec.cnn:1:19: error: CONV is a layer, not a merge: branches in braces join with `ADD`, `CONCAT` or `MUL`\n'
        '    INPUT(3, 8, 8) -> CONV { CONV(8, k=1) | CONV(8, k=1) }\n'
        '                      ^~~~\n',
    ),
    'merge_without_branches': (
        'INPUT(3, 8, 8) -> ADD',
        'spec.cnn:1:19: error: ADD joins branches: write it as ADD { branch | branch }\n'
        '    INPUT(3, 8, 8) -> ADD\n'
        '                      ^~~\n',
    ),
    'no_network': (
        'let W = 8\n'
        'block unit(c) { CONV(c, k=1) }',
        'spec.cnn:2:31: error: the spec has no network: after its statements, write one starting with INPUT(...), e.g. INPUT(3, 32, 32) -> CONV(16, k=3) -> GAP -> FLATTEN -> FC(10)\n'
        '    block unit(c) { CONV(c, k=1) }\n'
        '                                  ^\n',
    ),
    'split_piece': (
        'INPUT(8, 4, 4) -> SPLIT(3, i=3)',
        'spec.cnn:1:28: error: SPLIT(3, i=3): 8 channels in pieces of 3 make only 3 pieces, so there is no piece i=3 (counted from 0)\n'
        '    INPUT(8, 4, 4) -> SPLIT(3, i=3)\n'
        '                               ^~~\n',
    ),
    'shuffle_groups': (
        'INPUT(10, 4, 4) -> CHANNELSHUFFLE(4)',
        'spec.cnn:1:35: error: CHANNELSHUFFLE(4): 4 groups do not divide the 10 channels\n'
        '    INPUT(10, 4, 4) -> CHANNELSHUFFLE(4)\n'
        '                                      ^\n',
    ),
    'truth_of_a_tuple': (
        'INPUT(3, 8, 8) -> [RELU] * ((1, 2) and true)',
        'spec.cnn:1:29: error: expected true or false here, not (1, 2)\n'
        '    INPUT(3, 8, 8) -> [RELU] * ((1, 2) and true)\n'
        '                                ^~~~~~\n',
    ),
    'depthwise_groups': (
        'INPUT(6, 8, 8) -> CONV(8, k=3, g=in)',
        'spec.cnn:1:32: error: CONV(8, k=3, g=in): g=6 does not divide the 8 output channels\n'
        '    INPUT(6, 8, 8) -> CONV(8, k=3, g=in)\n'
        '                                   ^~~~\n',
    ),
    'number_too_long': (
        'INPUT(1, 1234567890123456789012) -> RELU',
        'spec.cnn:1:10: error: a number of 22 digits is too long: numbers in a spec have at most 18 digits\n'
        '    INPUT(1, 1234567890123456789012) -> RELU\n'
        '             ^~~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'value_too_large': (
        'let a = 100000000000\nINPUT(1, a * a) -> RELU',
        'spec.cnn:2:10: error: this value has 23 digits, more than the 18 a spec allows\n'
        '    INPUT(1, a * a) -> RELU\n'
        '             ^~~~~\n',
    ),
    'scale_not_finite': (
        'INPUT(3, 8, 8) -> RESIZE(scale=1e999 - 1e999)',
        'spec.cnn:1:32: error: `scale` of RESIZE must be a finite number, not nan\n'
        '    INPUT(3, 8, 8) -> RESIZE(scale=1e999 - 1e999)\n'
        '                                   ^~~~~~~~~~~~~\n',
    ),
    'derived_size_too_large': (
        'INPUT(3, 8, 8) -> RESIZE(scale=100000) -> RESIZE(scale=1000)',
        'spec.cnn:1:43: error: RESIZE(scale=1000): its output would have a size of 800,000,000, above the limit '
        'of 100,000,000\n'
        '    INPUT(3, 8, 8) -> RESIZE(scale=100000) -> RESIZE(scale=1000)\n'
        '                                              ^~~~~~~~~~~~~~~~~~\n',
    ),
    'avgpool3d_smaller_than_window': (
        'INPUT(1, 2, 2, 2) -> AVGPOOL(3, p=1)',
        'spec.cnn:1:22: error: AVGPOOL(3, p=1): input is 1×2×2×2, smaller than the 3×3×3 window (3-D average '
        'pooling in PyTorch compares the input before padding)\n'
        '    INPUT(1, 2, 2, 2) -> AVGPOOL(3, p=1)\n'
        '                         ^~~~~~~~~~~~~~~\n',
    ),
    'align_corners_with_nearest': (
        'INPUT(1, 8, 8) -> RESIZE(size=8, mode=nearest, align=true)',
        'spec.cnn:1:48: error: RESIZE(size=8, mode=nearest, align=true): `align_corners` only applies to the '
        'interpolating modes (linear, bilinear, bicubic, trilinear), not to `nearest`\n'
        '    INPUT(1, 8, 8) -> RESIZE(size=8, mode=nearest, align=true)\n'
        '                                                   ^~~~~~~~~~\n',
    ),
    'input_value_missing': (
        'INPUT(7 // 0) -> RELU',
        'spec.cnn:1:12: error: division by zero\n'
        '    INPUT(7 // 0) -> RELU\n'
        '               ^\n',
    ),
    'carriage_return_inside_a_line': (
        'INPUT(1)\r-> FOO',
        'spec.cnn:1:13: error: unknown layer or block `FOO`\n'
        '    INPUT(1) -> FOO\n'
        '                ^~~\n',
    ),
    'label_used_twice': (
        'INPUT(1, 8, 8) -> c: CONV(8, k=3, p=1) -> c: RELU',
        'spec.cnn:1:46: error: label `c` is already used here (at line 1): a label names one layer\n'
        '    INPUT(1, 8, 8) -> c: CONV(8, k=3, p=1) -> c: RELU\n'
        '                                                 ^~~~\n',
    ),
    'label_inside_a_repeat': (
        'INPUT(1, 8, 8) -> [c: CONV(8, k=3, p=1) -> RELU] * 2',
        'spec.cnn:1:23: error: label `c` is inside a repeat, so it would name one layer per pass: label the '
        'repeat instead (`stage: [...] * 2` names stage.0, stage.1, …)\n'
        '    INPUT(1, 8, 8) -> [c: CONV(8, k=3, p=1) -> RELU] * 2\n'
        '                          ^~~~~~~~~~~~~~~~~\n',
    ),
    'unknown_function': (
        'INPUT(3, 8, 8) -> CONV(mx(8, 2), k=1)',
        'spec.cnn:1:24: error: unknown function `mx`; did you mean `max`?\n'
        '    INPUT(3, 8, 8) -> CONV(mx(8, 2), k=1)\n'
        '                           ^~\n',
    ),
    'function_arguments': (
        'INPUT(3, 8, 8) -> CONV(max(8), k=1)',
        'spec.cnn:1:24: error: `max` takes at least 2 arguments, not 1\n'
        '    INPUT(3, 8, 8) -> CONV(max(8), k=1)\n'
        '                           ^~~~~~\n',
    ),
    'pad_reflect_too_wide': (
        'INPUT(3, 8, 8) -> PAD(9, mode=reflect)',
        'spec.cnn:1:19: error: PAD(9, mode=reflect): reflect padding of 9 needs more than 9 positions along the axis, but the input 3×8×8 has 8\n'
        '    INPUT(3, 8, 8) -> PAD(9, mode=reflect)\n'
        '                      ^~~~~~~~~~~~~~~~~~~~\n',
    ),
    'pad_circular_too_wide': (
        'INPUT(3, 8, 8) -> PAD(9, mode=circular)',
        'spec.cnn:1:19: error: PAD(9, mode=circular): circular padding of 9 wraps around more than the 8 positions of the input 3×8×8\n'
        '    INPUT(3, 8, 8) -> PAD(9, mode=circular)\n'
        '                      ^~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'pad_same_without_window': (
        'INPUT(3, 8, 8) -> PAD(same)',
        "spec.cnn:1:23: error: PAD(same): `p=same` pads as TensorFlow does for a window, so it needs the window's size `k=` (and `s=`, `d=` when they are not 1)\n"
        '    INPUT(3, 8, 8) -> PAD(same)\n'
        '                          ^~~~\n',
    ),
    'pad_window_without_same': (
        'INPUT(3, 8, 8) -> PAD(1, k=3)',
        'spec.cnn:1:26: error: PAD(1, k=3): `k=` describes the window of `p=same`; without it PAD takes no `k=`\n'
        '    INPUT(3, 8, 8) -> PAD(1, k=3)\n'
        '                             ^~~\n',
    ),
    'pad_both_forms': (
        'INPUT(3, 8, 8) -> PAD(1, before=2)',
        'spec.cnn:1:19: error: PAD(1, before=2) takes `p=` (both sides) or `before=` and `after=` (each side), not both\n'
        '    INPUT(3, 8, 8) -> PAD(1, before=2)\n'
        '                      ^~~~~~~~~~~~~~~~\n',
    ),
    'pad_no_sizes': (
        'INPUT(3, 8, 8) -> PAD',
        'spec.cnn:1:19: error: PAD needs its sizes: `p=` (both sides of each axis, or `same`), or `before=` and `after=`\n'
        '    INPUT(3, 8, 8) -> PAD\n'
        '                      ^~~\n',
    ),
    'pad_value_of_reflect': (
        'INPUT(3, 8, 8) -> PAD(1, mode=reflect, value=2)',
        'spec.cnn:1:40: error: PAD(1, mode=reflect, value=2): `value=` is what `constant` padding adds; mode `reflect` adds none\n'
        '    INPUT(3, 8, 8) -> PAD(1, mode=reflect, value=2)\n'
        '                                           ^~~~~~~\n',
    ),
    'pad_word': (
        'INPUT(3, 8, 8) -> PAD(sam)',
        'spec.cnn:1:23: error: `p` of PAD must be a whole number, a tuple of whole numbers, or `same`, not `sam`; did you mean `same`?\n'
        '    INPUT(3, 8, 8) -> PAD(sam)\n'
        '                          ^~~\n',
    ),
    'pad_vector': (
        'INPUT(8) -> PAD(1)',
        'spec.cnn:1:13: error: PAD(1) needs an input with spatial axes (C×L, C×H×W or C×D×H×W), but receives a vector of 8 features\n'
        '    INPUT(8) -> PAD(1)\n'
        '                ^~~~~~\n',
    ),
    'pad_mode': (
        'INPUT(3, 8, 8) -> PAD(1, mode=mirror)',
        'spec.cnn:1:31: error: `mode` of PAD must be one of `constant`, `zeros`, `reflect`, `replicate` or `circular`, not `mirror`\n'
        '    INPUT(3, 8, 8) -> PAD(1, mode=mirror)\n'
        '                                  ^~~~~~\n',
    ),
    'pad_sides_rank': (
        'INPUT(3, 8, 8) -> PAD(before=(1, 2, 3))',
        'spec.cnn:1:23: error: `before=(1, 2, 3)` has 3 values but the input of PAD(before=(1, 2, 3)) has 2 spatial axes (3×8×8)\n'
        '    INPUT(3, 8, 8) -> PAD(before=(1, 2, 3))\n'
        '                          ^~~~~~~~~~~~~~~~\n',
    ),
    'ref_undefined': (
        'INPUT(3, 8, 8) -> CONV(4, k=1) -> @stem',
        "spec.cnn:1:35: error: `@stem` names no earlier output of this scope (a block's body, a labelled group or repeat, or the network): no item before it in this scope has a label (label one, `stem: CONV(…)`; `@input` is the scope's input)\n"
        '    INPUT(3, 8, 8) -> CONV(4, k=1) -> @stem\n'
        '                                      ^~~~~\n',
    ),
    'ref_misspelt': (
        'INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> RELU -> CONCAT { @sten | [] }',
        "spec.cnn:1:58: error: `@sten` names no earlier output of this scope (a block's body, a labelled group or repeat, or the network): the labels before it here are `stem`; did you mean `stem`?\n"
        '    INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> RELU -> CONCAT { @sten | [] }\n'
        '                                                             ^~~~~\n',
    ),
    'ref_labelled': (
        'INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> out: @stem',
        'spec.cnn:1:46: error: `@stem` goes on from the output labelled `stem`, so it is no layer a label can name; label the item it names\n'
        '    INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> out: @stem\n'
        '                                                 ^~~~~\n',
    ),
    'ref_repeated': (
        'INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> @stem * 2',
        'spec.cnn:1:41: error: `@stem` goes on from an earlier output; it is no layer and cannot be repeated\n'
        '    INPUT(3, 8, 8) -> stem: CONV(4, k=1) -> @stem * 2\n'
        '                                            ^~~~~~~~~\n',
    ),
    'ref_into_a_group': (
        'INPUT(3, 8, 8) -> g: [a: CONV(4, k=1) -> RELU] -> @a',
        "spec.cnn:1:51: error: `@a` names no earlier output of this scope (a block's body, a labelled group or repeat, or the network): the labels before it here are `g`\n"
        '    INPUT(3, 8, 8) -> g: [a: CONV(4, k=1) -> RELU] -> @a\n'
        '                                                      ^~\n',
    ),
    'ref_later': (
        'INPUT(3, 8, 8) -> CONCAT { @b | [] } -> b: CONV(4, k=1)',
        "spec.cnn:1:28: error: `@b` names no earlier output of this scope (a block's body, a labelled group or repeat, or the network): no item before it in this scope has a label (label one, `stem: CONV(…)`; `@input` is the scope's input)\n"
        '    INPUT(3, 8, 8) -> CONCAT { @b | [] } -> b: CONV(4, k=1)\n'
        '                               ^~\n',
    ),
    'gn_groups': (
        'INPUT(6, 4, 4) -> GN(4)',
        'spec.cnn:1:22: error: GN(4): 4 groups do not divide the 6 channels\n'
        '    INPUT(6, 4, 4) -> GN(4)\n'
        '                         ^\n',
    ),
    'in_vector': (
        'INPUT(8) -> IN',
        'spec.cnn:1:13: error: IN needs an input with spatial axes (C×L, C×H×W or C×D×H×W), but receives a vector of 8 features\n'
        '    INPUT(8) -> IN\n'
        '                ^~\n',
    ),
    'in_one_position': (
        'INPUT(8, 1, 1) -> IN(affine=true)',
        'spec.cnn:1:19: error: IN(affine=true) normalises each channel over its positions, but the input 8×1×1 has one position only (PyTorch refuses it too)\n'
        '    INPUT(8, 1, 1) -> IN(affine=true)\n'
        '                      ^~~~~~~~~~~~~~~\n',
    ),
    'gn_one_value': (
        'INPUT(4, 1, 1) -> GN(4)',
        'spec.cnn:1:22: error: GN(4): each of the 4 groups of the input 4×1×1 holds one value, which normalises to nothing (PyTorch refuses it)\n'
        '    INPUT(4, 1, 1) -> GN(4)\n'
        '                         ^\n',
    ),
    'convt_output_padding': (
        'INPUT(1, 8, 8) -> CONVT(4, k=3, op=1)',
        "spec.cnn:1:33: error: CONVT(4, k=3, op=1): output_padding must be smaller than the stride or the dilation (PyTorch's rule), but it is 1, where the stride is 1 and the dilation 1\n"
        '    INPUT(1, 8, 8) -> CONVT(4, k=3, op=1)\n'
        '                                    ^~~~\n',
    ),
    'convt_output_padding_per_axis': (
        'INPUT(1, 8, 8) -> CONVT(4, k=3, s=(1, 2), output_padding=(1, 1))',
        "spec.cnn:1:43: error: CONVT(4, k=3, s=(1, 2), output_padding=(1, 1)): output_padding must be smaller than the stride or the dilation (PyTorch's rule), but it is 1 for the rows, where the stride is 1 and the dilation 1\n"
        '    INPUT(1, 8, 8) -> CONVT(4, k=3, s=(1, 2), output_padding=(1, 1))\n'
        '                                              ^~~~~~~~~~~~~~~~~~~~~\n',
    ),
    'convt_output_padding_dilated': (
        'INPUT(1, 8, 8) -> CONVT(4, k=3, s=2, d=2, op=2)',
        "spec.cnn:1:43: error: CONVT(4, k=3, s=2, d=2, op=2): output_padding must be smaller than the stride or the dilation (PyTorch's rule), but it is 2, where the stride is 2 and the dilation 2\n"
        '    INPUT(1, 8, 8) -> CONVT(4, k=3, s=2, d=2, op=2)\n'
        '                                              ^~~~\n',
    ),
    'convt_output_negative': (
        'INPUT(1, 1, 1) -> CONVT(4, k=1, p=1)',
        'spec.cnn:1:33: error: CONVT(4, k=1, p=1): on the input 1×1×1 its output would have (1 − 1)·1 − 2·1 + (1 − 1) + 0 + 1 = −1 rows: the padding crops more than the transposed convolution gives, and PyTorch needs at least 1\n'
        '    INPUT(1, 1, 1) -> CONVT(4, k=1, p=1)\n'
        '                                    ^~~\n',
    ),
    'convt_output_empty_axis': (
        'INPUT(1, 5, 1) -> CONVT(4, k=(3, 1), s=2, p=(0, 1), op=1)',
        'spec.cnn:1:43: error: CONVT(4, k=(3, 1), s=2, p=(0, 1), op=1): on the input 1×5×1 its output would have (1 − 1)·2 − 2·1 + (1 − 1) + 1 + 1 = 0 columns: the padding crops more than the transposed convolution gives, and PyTorch needs at least 1\n'
        '    INPUT(1, 5, 1) -> CONVT(4, k=(3, 1), s=2, p=(0, 1), op=1)\n'
        '                                              ^~~~~~~~\n',
    ),
    'convt_groups_in': (
        'INPUT(3, 8, 8) -> CONVT(4, k=2, g=2)',
        'spec.cnn:1:33: error: CONVT(4, k=2, g=2): g=2 does not divide the 3 input channels\n'
        '    INPUT(3, 8, 8) -> CONVT(4, k=2, g=2)\n'
        '                                    ^~~\n',
    ),
    'convt_groups_out': (
        'INPUT(4, 8, 8) -> CONVT(3, k=2, g=2)',
        'spec.cnn:1:33: error: CONVT(3, k=2, g=2): g=2 does not divide the 3 output channels\n'
        '    INPUT(4, 8, 8) -> CONVT(3, k=2, g=2)\n'
        '                                    ^~~\n',
    ),
    'convt_padding_same': (
        'INPUT(1, 8, 8) -> CONVT(4, k=3, p=same)',
        "spec.cnn:1:35: error: `p` of CONVT cannot be `same`: this padding takes numbers only (`same` and `valid` are CONV's)\n"
        '    INPUT(1, 8, 8) -> CONVT(4, k=3, p=same)\n'
        '                                      ^~~~\n',
    ),
    'convt_padding_bool': (
        'INPUT(1, 8, 8) -> CONVT(4, k=3, p=true)',
        'spec.cnn:1:35: error: `p` of CONVT must be a whole number or a tuple of whole numbers, not true\n'
        '    INPUT(1, 8, 8) -> CONVT(4, k=3, p=true)\n'
        '                                      ^~~~\n',
    ),
    'pool_padding_valid': (
        'INPUT(1, 8, 8) -> MAXPOOL(2, p=valid)',
        "spec.cnn:1:32: error: `p` of MAXPOOL cannot be `valid`: this padding takes numbers only (`same` and `valid` are CONV's)\n"
        '    INPUT(1, 8, 8) -> MAXPOOL(2, p=valid)\n'
        '                                   ^~~~~\n',
    ),
    'convt_vector': (
        'INPUT(8) -> CONVT(4, k=2)',
        'spec.cnn:1:13: error: CONVT(4, k=2) needs an input with spatial axes (C×L, C×H×W or C×D×H×W), but receives a vector of 8 features\n'
        '    INPUT(8) -> CONVT(4, k=2)\n'
        '                ^~~~~~~~~~~~~\n',
    ),
    'convt_in_checked': (
        'INPUT(3, 8, 8) -> DECONV(4, k=2, in=4)',
        'spec.cnn:1:34: error: DECONV(4, k=2, in=4) expects 4 input channels but receives 3 (input 3×8×8)\n'
        '    INPUT(3, 8, 8) -> DECONV(4, k=2, in=4)\n'
        '                                     ^~~~\n',
    ),
    'convt_needs_k': (
        'INPUT(3, 8, 8) -> CONVT(4)',
        'spec.cnn:1:19: error: CONVT needs `k` (kernel size): give it here, e.g. CONVT(64, k=2, s=2), or in a `default CONVT(...)` statement before the network\n'
        '    INPUT(3, 8, 8) -> CONVT(4)\n'
        '                      ^~~~~~~~\n',
    ),
    'convt_output_padding_negative': (
        'INPUT(3, 8, 8) -> CONVT(4, k=2, s=2, op=-1)',
        'spec.cnn:1:41: error: `output_padding` of CONVT must be at least 0, not -1\n'
        '    INPUT(3, 8, 8) -> CONVT(4, k=2, s=2, op=-1)\n'
        '                                            ^~\n',
    ),
    'convt_output_too_large': (
        'INPUT(1, 100000) -> CONVT(1, k=2, s=10000)',
        'spec.cnn:1:21: error: CONVT(1, k=2, s=10000): its output would have a size of 999,990,002, above the limit of 100,000,000\n'
        '    INPUT(1, 100000) -> CONVT(1, k=2, s=10000)\n'
        '                        ^~~~~~~~~~~~~~~~~~~~~~\n',
    ),
}


def run(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", SPEC_ERRORS)
def test_spec_error_message(name, tmp_path, monkeypatch, capsys):
    text, expected = SPEC_ERRORS[name]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.cnn").write_text(text, encoding="utf-8")
    code, out, err = run(["analyze", "spec.cnn"], capsys)
    assert (code, out, err) == (1, "", expected)


def test_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run(["analyze", "nope.cnn"], capsys) == (1, "", "nope.cnn: error: no such file\n")


def test_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    assert run(["analyze", "specs"], capsys) == (1, "", "specs: error: is a directory, not a spec file\n")


def test_unreadable_file(tmp_path, monkeypatch, capsys):
    import os

    if os.geteuid() == 0:  # root reads any file; simulate the permission error instead
        import builtins

        real_open = builtins.open

        def refusing_open(path, *args, **kwargs):
            if str(path) == "secret.cnn":
                raise PermissionError(13, "Permission denied")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", refusing_open)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.cnn").write_text("INPUT(1, 2, 2)")
    (tmp_path / "secret.cnn").chmod(0)
    assert run(["analyze", "secret.cnn"], capsys) == (
        1, "", "secret.cnn: error: permission denied: the file cannot be read\n")


@pytest.mark.parametrize("content", ["", "   \n\n", "# only a comment\n"])
def test_empty_file(content, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.cnn").write_text(content)
    expected = ("empty.cnn:1:1: error: the spec is empty: it needs at least a network such as "
                "`INPUT(1, 28, 28) -> FC(10)`\n")
    if content.startswith("#"):
        expected += "    # only a comment\n    ^\n"
    assert run(["analyze", "empty.cnn"], capsys) == (1, "", expected)


def test_binary_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04\x00\x00\x08\x00 weights")
    assert run(["analyze", "model.pt"], capsys) == (
        1, "", "model.pt: error: this is a binary file, not a spec (a .cnn file is text)\n")


def test_not_utf8(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.cnn").write_bytes("INPUT(1, 28, 28) -> FC(10) # caf\xe9".encode("latin-1"))
    assert run(["analyze", "latin1.cnn"], capsys) == (
        1, "", "latin1.cnn:1:33: error: the file is not UTF-8 text (byte 0xe9 cannot be decoded)\n"
               "    INPUT(1, 28, 28) -> FC(10) # caf\n"
               "                                    ^\n")


def test_set_without_equals(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cnn").write_text("INPUT(1, 8, 8) -> [RELU] * N")
    assert run(["analyze", "t.cnn", "--set", "N"], capsys) == (
        1, "", "--set: error: --set expects NAME=VALUE, e.g. --set N=3, not 'N'\n")


def test_set_bad_syntax(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cnn").write_text("INPUT(1, 8, 8) -> [RELU] * N")
    assert run(["analyze", "t.cnn", "--set", "N=(3"], capsys) == (
        1, "", "--set N:1:3: error: expected `)` or `,` but found end of input\n    (3\n      ^\n")


def test_set_unknown_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cnn").write_text("let N = 2\nINPUT(1, 8, 8) -> [RELU] * N")
    assert run(["analyze", "t.cnn", "--set", "NN=3"], capsys) == (
        1, "", "--set: error: the spec has no variable `NN` to set; did you mean `N`?\n")


def test_set_word_where_number_expected(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cnn").write_text("INPUT(1, 8, 8) -> CONV(N, k=3)")
    assert run(["analyze", "t.cnn", "--set", "N=abc"], capsys) == (
        1, "", "t.cnn:1:24: error: `out` of CONV must be a whole number or `in` (the input channels), not the word `abc`\n"
               "    INPUT(1, 8, 8) -> CONV(N, k=3)\n"
               "                           ^\n")


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze"])
    assert exit_info.value.code == 2
    assert "the following arguments are required: FILE" in capsys.readouterr().err


def test_stdin(monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"INPUT(1, 28, 28) -> CONV(6, k=29)")))
    assert run(["analyze", "-"], capsys) == (
        1, "", "<stdin>:1:21: error: CONV(6, k=29): input is 1×28×28, smaller than the 29×29 kernel\n"
               "    INPUT(1, 28, 28) -> CONV(6, k=29)\n"
               "                        ^~~~~~~~~~~~~\n")


def test_import_of_a_missing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.cnn").write_text('import "blocks.cnn"\nINPUT(3, 8, 8) -> RELU\n')
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", 'net.cnn:1:8: error: cannot import "blocks.cnn" (blocks.cnn): no such file\n'
               '    import "blocks.cnn"\n'
               "           ^~~~~~~~~~~~\n")


def test_import_cycle(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.cnn").write_text('import "b.cnn"\n')
    (tmp_path / "b.cnn").write_text('import "a.cnn"\n')
    (tmp_path / "net.cnn").write_text('import "a.cnn"\nINPUT(3, 8, 8) -> RELU\n')
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", 'b.cnn:1:8: error: import cycle: a.cnn → b.cnn → a.cnn\n'
               '    import "a.cnn"\n'
               "           ^~~~~~~\n")


def test_imported_file_with_a_network(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.cnn").write_text("block unit(c) { CONV(c, k=1) }\nINPUT(3, 8, 8) -> unit(4)\n")
    (tmp_path / "net.cnn").write_text('import "lib.cnn"\nINPUT(3, 8, 8) -> unit(4)\n')
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", "lib.cnn:2:1: error: lib.cnn is imported, so it can only define blocks, variables and defaults; "
               "its network chain is not allowed here\n"
               "    INPUT(3, 8, 8) -> unit(4)\n"
               "    ^~~~~~~~~~~~~~~~~~~~~~~~~\n")


def test_error_in_an_imported_block_names_the_call(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib.cnn").write_text("block unit(c) {\n  CONV(c, k=5)\n}\n")
    (tmp_path / "net.cnn").write_text('import "lib.cnn"\nINPUT(3, 4, 4) -> unit(8)\n')
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", "lib.cnn:2:3: error: CONV(c, k=5): input is 3×4×4, smaller than the 5×5 kernel\n"
               "      CONV(c, k=5)\n"
               "      ^~~~~~~~~~~~\n"
               "net.cnn:2:19: note: in the call unit(8)\n"
               "    INPUT(3, 4, 4) -> unit(8)\n"
               "                      ^~~~~~~\n")


def test_default_of_a_block(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.cnn").write_text("block unit(c) { CONV(c, k=1) }\ndefault unit(4)\nINPUT(3, 4, 4) -> unit\n")
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", "net.cnn:2:9: error: `default` gives arguments to a layer kind, and `unit` is a block: give its "
               "parameters defaults in its definition, `block NAME(p=VALUE)`\n"
               "    default unit(4)\n"
               "            ^~~~\n"
               "net.cnn:3:19: error: block `unit` needs its parameter `c`\n"
               "    INPUT(3, 4, 4) -> unit\n"
               "                      ^~~~\n")


@pytest.mark.parametrize("body", ["RELU -> RELU", "[]"])
def test_blocks_doubling_each_other_stop_at_the_call_limit(body, tmp_path, monkeypatch, capsys):
    """Forty blocks each calling the previous one twice would be 2^40 calls (of layers, or of nothing at all):
    refused at the call limit, not a hang."""
    monkeypatch.chdir(tmp_path)
    lines = [f"block b0() {{ {body} }}"] + [f"block b{i}() {{ b{i - 1}() -> b{i - 1}() }}" for i in range(1, 40)]
    (tmp_path / "net.cnn").write_text("\n".join(lines + ["INPUT(3, 4, 4) -> b39()"]))
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", "net.cnn:5:14: error: the network makes more than 20,000 block calls\n"
               "    block b4() { b3() -> b3() }\n"
               "                 ^~~~\n")
