"""backprop-course: the library students and lectures use (gradient checking, data, widgets)."""

from .gradcheck import (
    check_gradient,
    numerical_derivative,
    numerical_gradient,
    numerical_vjp,
    rel_error,
)
from .i18n import setup_matplotlib

setup_matplotlib()  # in Chinese, plots draw their Chinese text with a CJK font

__all__ = [
    "check_gradient",
    "numerical_derivative",
    "numerical_gradient", "numerical_vjp", "rel_error"]
