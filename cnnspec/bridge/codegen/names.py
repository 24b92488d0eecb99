"""Python names for the spec's names: classes (`Basic`), parameters, and attributes that nn.Module allows."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable

# Names the generated code itself uses: a spec name among them gets a trailing underscore.
RESERVED = ("self", "nn", "torch", "F", "x")

MODULE_ATTRIBUTES = frozenset(
    # nn.Module's attributes and methods: a label among these cannot be an attribute of the generated class
    "training forward parameters buffers children modules named_parameters named_buffers named_children "
    "named_modules state_dict load_state_dict to cpu cuda eval train apply float double half bfloat16 type "
    "zero_grad register_buffer register_parameter add_module register_module get_submodule get_parameter "
    "get_buffer extra_repr requires_grad_ share_memory dump_patches call_super_init compile ipu xpu mtia "
    "to_empty register_forward_hook register_forward_pre_hook register_full_backward_hook set_extra_state "
    "get_extra_state register_backward_hook register_full_backward_pre_hook register_state_dict_pre_hook "
    "register_load_state_dict_post_hook register_load_state_dict_pre_hook register_state_dict_post_hook "
    "set_submodule T_destination append extend insert pop".split())


def camel(name: str) -> str:
    """The class name of a block or group: `basic_layer` → `BasicLayer`, a quoted label's `block1-0` →
    `Block10`."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", name) if p]
    text = "".join(p[:1].upper() + p[1:] for p in parts) or "Block"
    return text if text[0].isalpha() else "Block" + text


def identifier(name: str) -> str:
    """A Python name for a spec name: keywords and names the generated code uses get a trailing underscore."""
    if keyword.iskeyword(name) or name in (*RESERVED, "super"):
        return name + "_"
    return name


def numbered(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, else `base2`, `base3`, …: the first that is not `taken`."""
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}{n}"
    return name


def attribute_safe(name: str) -> bool:
    """Whether `self.NAME` can hold a submodule of the generated class."""
    return (name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
            and name not in MODULE_ATTRIBUTES and name not in RESERVED)
