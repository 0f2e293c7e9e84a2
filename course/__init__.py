"""backprop-course: the library students and lectures use (gradient checking, data, widgets)."""

from .gradcheck import (
    check_gradient,
    numerical_derivative,
    numerical_gradient,
    numerical_vjp,
    rel_error,
)

__all__ = [
    "check_gradient",
    "numerical_derivative",
    "numerical_gradient", "numerical_vjp", "rel_error"]
