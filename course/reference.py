"""The reference implementations the lectures run: `from course.reference import Affine`.

They are the answers to the assignments, so their one copy lives with the instructor, in
grader/reference/, and in the instructor's checkout this module hands out those. A student's
copy has no grader/: there they come from the answers pack (package `course_answers`) that
the instructor writes with `backprop-course answers` once assignments are due; asking for one
that is not there says which assignment it answers and what to do instead.
"""

import importlib

# assignment -> the module of grader/reference/ (and of course_answers) that answers it
MODULES = {"a1_scalar_backprop": "scalar", "a2_vector_backprop": "layers",
           "a3_computation_graph": "engine", "a4_vanishing_gradients": "deep"}
# name -> the assignment it answers (names only, as in the exercise contract; a test keeps this
# equal to what grader/reference/ defines)
ANSWERED_BY = {
    **dict.fromkeys(["AddGate", "ExpGate", "MaxGate", "MultiplyGate", "ReciprocalGate",
                     "ScaleGate", "ShiftGate", "SigmoidGate", "chain_backward", "chain_forward",
                     "circuit_backward", "neuron_backward", "staged_backward"],
                    "a1_scalar_backprop"),
    **dict.fromkeys(["Affine", "MSELoss", "ReLU", "Sequential", "Sigmoid", "SoftmaxCrossEntropy",
                     "Tanh", "sgd_step"], "a2_vector_backprop"),
    **dict.fromkeys(["Value", "seed_graph", "topological_order"], "a3_computation_graph"),
    **dict.fromkeys(["ResidualBlock", "clip_grad_norm", "he_init", "layer_grad_norms",
                     "xavier_init"], "a4_vanishing_gradients"),
}


def _module(name):
    """The module holding NAME: grader's reference, else the answers pack's, else None."""
    for package in ("grader.reference", f"course_answers.{MODULES[ANSWERED_BY[name]]}"):
        try:
            module = importlib.import_module(package)
        except ImportError:  # not in this copy of the course
            continue
        if hasattr(module, name):
            return module
    return None


def __getattr__(name):
    if name not in ANSWERED_BY:
        raise AttributeError(f"module 'course.reference' has no attribute {name!r}")
    module = _module(name)
    if module is None:
        raise ImportError(
            f"This lecture runs `{name}`, the course's answer to assignment "
            f"{ANSWERED_BY[name]}, and your copy of the course does not include that answer "
            f"yet: instructors hand out each assignment's answers once it is due, as a folder "
            f"you install with pip. Until then, read the lecture's saved outputs (every plot "
            f"and number is stored).", name=name)
    return getattr(module, name)
