"""The run's random generator as the rules are passed it: borrowed for the length of a
kernel call (``borrow_generator``), like the state (``state.borrow``).

Numba's ``Generator`` carries a reference count, so every compiled call it is passed to
adds one on the way in and subtracts it on the way out (atomically), and most rules take
it. A ``GeneratorViewType`` holds only the generator's bit generator, the part every
draw reads and advances, and no count. It is a kind of Numba's generator type, so every
method Numba compiles for a generator (``random``, ``exponential``, ``integers``, ...)
compiles for the view, drawing the same numbers from the same stream."""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.core.boxing import box_unsupported, unbox_unsupported
from numba.core.datamodel import models
from numba.core.extending import box, intrinsic, overload, register_model, unbox


class GeneratorViewType(types.NumPyRandomGeneratorType):
    """A generator borrowed for the length of a kernel call: its bit generator alone."""

    def __init__(self) -> None:
        super().__init__(name="GeneratorView")
        self.name = "GeneratorView"  # Numba's generator type ignores the name it is given


GENERATOR_VIEW = GeneratorViewType()


@register_model(GeneratorViewType)
class _GeneratorViewModel(models.StructModel):  # pragma: no cover  (Numba's compiler only: not under NUMBA_DISABLE_JIT)
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [("bit_generator", types.NumPyRandomBitGeneratorType("bit_generator"))])


# Numba finds box and unbox by class: without these the view would get the generator's,
# which read fields it lacks. A view never crosses into Python; converting one is an error.
unbox(GeneratorViewType)(unbox_unsupported)
box(GeneratorViewType)(box_unsupported)


def borrow_generator(rng):
    """``rng`` for the rest of a kernel call (in compiled code, a ``GeneratorViewType``; as
    plain Python, ``rng`` itself). ``rng`` must outlive the view: an argument of the call
    that borrows it does."""
    return rng


@overload(borrow_generator)
def _borrow_generator(rng):  # pragma: no cover
    if isinstance(rng, GeneratorViewType):
        return lambda rng: rng
    if isinstance(rng, types.NumPyRandomGeneratorType):
        return lambda rng: _view(rng)
    return None


@intrinsic
def _view(typingctx, rng):  # pragma: no cover
    def codegen(context, builder, signature, args):
        generator = cgutils.create_struct_proxy(rng)(context, builder, value=args[0])
        view = cgutils.create_struct_proxy(GENERATOR_VIEW)(context, builder)
        view.bit_generator = generator.bit_generator
        return view._getvalue()

    return GENERATOR_VIEW(rng), codegen
