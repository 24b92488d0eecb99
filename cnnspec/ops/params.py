"""Arguments of a layer kind: their types, defaults, aliases and bounds, and the checking of a value given."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..lang.errors import Span, suggest
from ..lang.values import MISSING, Word
from ..lang.words import join_words, shown, value_text

SIZE_LIMIT = 100_000_000  # a larger single size is a typo, not a layer
REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Param:
    """One argument of a layer kind.

    kind: "int" (a whole number), "ints" (a whole number or one per spatial axis), "padding" (ints, or
    the words `same` / `valid`), "pads" (ints, or the word `same`), "float",
    "floats", "bool", "word" (one of `choices`), "shape" (INPUT's sizes).
    """

    name: str
    kind: str
    doc: str
    default: Any = None  # None: absent unless given; REQUIRED: must be given
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value, span: Span, written: str, resolver) -> Any:
        """The value converted to this parameter's type, or MISSING after reporting why it is not one."""
        where = f"`{self.name}` of {written}"
        if self.kind == "channels" and isinstance(value, str) and value.lower() == "in":
            return "in"
        if isinstance(value, Word) and self.kind not in ("word", "padding", "pads"):
            written_here = value.span == span and not value.span.text.startswith(("'", '"'))
            if value.lower() in ("same", "valid") and self.name == "p" and self.kind == "ints":
                # a pooling layer's or a transposed convolution's padding
                resolver.error(f"{where} cannot be `{value}`: this padding takes numbers only (`same` and `valid` "
                               "are CONV's)", span)
            elif value.lower() in ("same", "valid"):
                resolver.error(f"{where} cannot be `{value}`; only padding can", span)
            elif written_here:  # a bare name that is no variable
                resolver.undefined(str(value), span)
            else:  # a word that arrived through a variable or a quoted string
                resolver.error(f"{where} must be {self.expects()}, not the word `{value}`", span)
            return MISSING
        checker = getattr(self, "_check_" + self.kind)
        result = checker(value)
        if isinstance(result, str):  # a reason the value does not fit
            resolver.error(f"{where} {result}", span)
            return MISSING
        return result[0]

    def expects(self) -> str:
        if self.kind == "word":
            return "one of " + join_words([f"`{c}`" for c in self.choices], "or")
        return {
            "int": "a whole number", "ints": "a whole number or a tuple of whole numbers",
            "padding": "a whole number, a tuple of whole numbers, `same` or `valid`",
            "pads": "a whole number, a tuple of whole numbers, or `same`",
            "float": "a number", "floats": "a number or a tuple of numbers", "bool": "true or false",
            "shape": "1 to 4 whole numbers", "channels": "a whole number or `in` (the input channels)",
        }[self.kind]

    def _wrong(self, value) -> str:
        return f"must be {self.expects()}, not {shown(value)}"

    def _bounds(self, number) -> str | None:
        if self.minimum is not None and number < self.minimum:
            low = int(self.minimum) if float(self.minimum).is_integer() else self.minimum
            return f"must be at least {low}, not {value_text(number)}"
        if self.maximum is not None and number > self.maximum:
            return f"must be at most {value_text(self.maximum)}, not {value_text(number)}"
        if isinstance(number, int) and number > SIZE_LIMIT:
            return f"is {number:,}, above the limit of {SIZE_LIMIT:,} for a size"
        return None

    def _check_int(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            return self._wrong(value)
        return self._bounds(value) or (value,)

    def _check_channels(self, value):
        return self._check_int(value)

    def _check_ints(self, value):
        if isinstance(value, tuple):
            if not value:
                return self._wrong(value)
            for item in value:
                if isinstance(item, bool) or not isinstance(item, int):
                    return self._wrong(value)
                problem = self._bounds(item)
                if problem:
                    return problem
            return (value,)
        return self._check_int(value)

    def _check_padding(self, value):
        if isinstance(value, str):
            word = value.lower()
            if word in ("same", "valid"):
                return (word,)
            return f"must be {self.expects()}, not `{value}`{suggest(value, ['same', 'valid'])}"
        return self._check_ints(value)

    def _check_pads(self, value):
        """PAD's sizes: ints, or `same` (TensorFlow's, for the window PAD is given)."""
        if isinstance(value, str):
            if value.lower() == "same":
                return ("same",)
            return f"must be {self.expects()}, not `{value}`{suggest(value, ['same'])}"
        return self._check_ints(value)

    def _check_float(self, value):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self._wrong(value)
        if not math.isfinite(value):
            return f"must be a finite number, not {value}"
        return self._bounds(value) or (float(value),)

    def _check_floats(self, value):
        if isinstance(value, tuple):
            if not value:
                return self._wrong(value)
            checked = []
            for item in value:
                result = self._check_float(item)
                if isinstance(result, str):
                    return result
                checked.append(result[0])
            return (tuple(checked),)
        return self._check_float(value)

    def _check_bool(self, value):
        if not isinstance(value, bool):
            return self._wrong(value)
        return (value,)

    def _check_word(self, value):
        if not isinstance(value, str):
            return self._wrong(value)
        word = value.lower().replace("_", "-")
        if word not in self.choices:
            return f"must be {self.expects()}, not `{value}`{suggest(word, self.choices)}"
        return (word,)

    def _check_shape(self, value):
        if not 1 <= len(value) <= 4:
            return (f"must be the channels then 0 to 3 spatial sizes (C, C×L, C×H×W or C×D×H×W), "
                    f"not {len(value)} numbers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                return f"must be whole numbers, not {shown(item)}"
            problem = self._bounds(item)
            if problem:
                return problem
        return (value,)


KERNEL = Param("k", "ints", "kernel size", REQUIRED, aliases=("kernel", "kernel_size"), minimum=1)
STRIDE = Param("s", "ints", "stride", 1, aliases=("stride",), minimum=1)
DILATION = Param("d", "ints", "dilation", 1, aliases=("dilation",), minimum=1)
BIAS = Param("bias", "bool", "learn a bias", True)
