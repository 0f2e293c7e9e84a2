"""Both ends of the sandbox's wire, and the sandboxed process's main program.

The sandboxed process runs `python -I -S sandbox_runner.py REQUEST_FD REPLY_FD SITE_PACKAGES
SECONDS` in an empty folder (see grader.sandbox): no site hooks, so the editable install of
`grader` is not importable; reference code, hidden tests and gradebooks hidden. It executes the
instructor's setup cells and the student's solution cells, then answers requests.

The wire carries JSON lines. Numbers, strings, None, lists, tuples, sets and numeric numpy
arrays travel by value; every other object stays where it lives and travels as a handle, so no
object with a foreign __eq__ or __float__ ever reaches the grader. Either end can ask the other
to get an attribute, set one or call something; while it waits for its answer it serves the
other end's requests (a student's Sequential calling the grader's layers, say).
Arrays the grader sends are shared: when student code changes one in place, the change is sent
back with the reply, so "inputs are not mutated" can be checked on the grader's side.

This file imports only the standard library and numpy; grader.sandbox imports it too.
"""

import base64
import json
import os
import signal
import sys

NUMERIC_KINDS = "biuf"  # bool, int, unsigned and float arrays cross the wire; nothing else
SHARED_ARRAYS_KEPT = 64  # shared arrays remembered (most recent first): bounded sync cost


class RemoteError(Exception):
    """The other end raised; ename is the type name of what it raised."""

    def __init__(self, ename, message):
        super().__init__(message if message.startswith(ename) else f"{ename}: {message}")
        self.ename = ename


_BUILTIN_ERRORS = {e.__name__: e for e in (
    AttributeError, TypeError, ValueError, KeyError, IndexError, ZeroDivisionError,
    ArithmeticError, OverflowError, RuntimeError, StopIteration, LookupError, NameError)}
_REMOTE_ERRORS = {}


def remote_error(ename, message):
    """A RemoteError that is also the builtin it stands for, so `hasattr` and
    `except AttributeError` work across the wire as they would locally."""
    base = _BUILTIN_ERRORS.get(ename)
    if base is None:
        return RemoteError(ename, message)
    if ename not in _REMOTE_ERRORS:
        _REMOTE_ERRORS[ename] = type(f"Remote{ename}", (RemoteError, base), {})
    return _REMOTE_ERRORS[ename](ename, message)


class Remote:
    """An object that lives at the other end of the wire."""

    __slots__ = ("_end", "_handle")

    def __init__(self, end, handle):
        object.__setattr__(self, "_end", end)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name):
        return self._end.request({"op": "getattr", "target": self._handle, "name": name})

    def __setattr__(self, name, value):
        self._end.request({"op": "setattr", "target": self._handle, "name": name,
                           "value": self._end.encode(value)})

    def __call__(self, *args, **kwargs):
        return self._end.request({"op": "call", "target": self._handle,
                                  "args": [self._end.encode(a) for a in args],
                                  "kwargs": {k: self._end.encode(v) for k, v in kwargs.items()}})

    def __repr__(self):
        return "<object of the student's code>"

    def __instancecheck__(self, obj):
        # isinstance(x, Value) where Value is the student's class, asked where it lives
        return self._end.request({"op": "isinstance", "target": self._handle,
                                  "args": [self._end.encode(obj)]})

    def _method(self, name, *args):
        return self.__getattr__(name)(*args)

    # operators on remote objects (the computation-graph Value) go to the remote methods
    def __add__(self, other):
        return self._method("__add__", other)

    def __radd__(self, other):
        return self._method("__radd__", other)

    def __sub__(self, other):
        return self._method("__sub__", other)

    def __rsub__(self, other):
        return self._method("__rsub__", other)

    def __mul__(self, other):
        return self._method("__mul__", other)

    def __rmul__(self, other):
        return self._method("__rmul__", other)

    def __truediv__(self, other):
        return self._method("__truediv__", other)

    def __rtruediv__(self, other):
        return self._method("__rtruediv__", other)

    def __pow__(self, other):
        return self._method("__pow__", other)

    def __neg__(self):
        return self._method("__neg__")


class Endpoint:
    """One end of the wire: its own objects by handle, proxies for the other end's."""

    def __init__(self, read_line, write_line, np, serve_private=True, share_arrays=False):
        self.read_line, self.write_line, self.np = read_line, write_line, np
        # may the other end touch __dunder__ attributes (a way from any object to a module's
        # globals)? The grader's end says no: student code only gets what it was handed.
        self.serve_private = serve_private
        self.share_arrays = share_arrays  # send arrays as shared (synced back after calls)?
        self.objects, self.handles = {}, {}  # our objects the other end holds handles to
        self.remotes = {}  # handle -> Remote, so one remote object is one proxy (identity)
        self.shared, self.snapshots = {}, {}  # shared arrays: id -> array, last synced copy

    # --- values on the wire ---
    def handle_of(self, obj):
        key = id(obj)
        if key not in self.handles:
            self.handles[key] = len(self.objects) + 1
            self.objects[self.handles[key]] = obj  # kept alive, so ids stay unique
        return self.handles[key]

    def encode(self, value):
        np = self.np
        if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
            return {"t": "v", "v": value}
        if isinstance(value, (np.floating, np.integer, np.bool_)) and np.ndim(value) == 0:
            return {"t": "v", "v": value.item()}
        if isinstance(value, np.ndarray) and value.dtype.kind in NUMERIC_KINDS:
            return self.encode_array(value)
        if type(value) in (list, tuple, set, frozenset):
            kind = "set" if type(value) in (set, frozenset) else type(value).__name__
            return {"t": kind, "v": [self.encode(v) for v in value]}
        if isinstance(value, Remote) and value._end is self:
            return {"t": "yours", "v": value._handle}
        return {"t": "mine", "v": self.handle_of(value)}

    def remember(self, key, array):
        """Keep a shared array (most recently used last); forget the oldest beyond the limit."""
        self.shared.pop(key, None)
        self.shared[key] = array
        while len(self.shared) > SHARED_ARRAYS_KEPT:
            oldest = next(iter(self.shared))
            del self.shared[oldest]
            self.snapshots.pop(oldest, None)

    def encode_array(self, array, key=None):
        if key is None and self.share_arrays:
            key = id(array)
            self.remember(key, array)  # the original object, so changes sent back land in it
        array = self.np.ascontiguousarray(array)
        data = base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode()
        return {"t": "a", "dtype": array.dtype.newbyteorder("<").str,
                "shape": list(array.shape), "data": data, "id": key}

    def decode(self, msg):
        t = msg["t"]
        if t == "v":
            return msg["v"]
        if t == "a":
            array = self.np.frombuffer(base64.b64decode(msg["data"]), dtype=msg["dtype"])
            array = array.reshape(msg["shape"]).astype(array.dtype.newbyteorder("="))
            key = msg.get("id")
            if key is None:
                return array
            if key in self.shared and not self.share_arrays:  # the other end's array again
                known = self.shared[key]
                if known.shape == array.shape and known.dtype == array.dtype:
                    self.np.copyto(known, array)
                    array = known
            self.remember(key, array)
            self.snapshots[key] = array.copy()
            return array
        if t in ("list", "tuple", "set"):
            items = [self.decode(m) for m in msg["v"]]
            return {"list": list, "tuple": tuple, "set": set}[t](items)
        if t == "mine":  # the sender's object: a proxy here
            return self.remotes.setdefault(msg["v"], Remote(self, msg["v"]))
        if t == "yours":  # one of our own objects coming back
            return self.objects[msg["v"]]
        raise ValueError(f"unknown value type {t!r}")

    def changed_shared_arrays(self):
        """The other end's arrays that code here changed in place since the last sync."""
        changed = {}
        for key, array in self.shared.items():
            before = self.snapshots.get(key)
            if before is None or before.shape != array.shape or not self.np.array_equal(
                    before, array, equal_nan=array.dtype.kind == "f"):
                changed[str(key)] = self.encode_array(array, key)
                self.snapshots[key] = array.copy()
        return changed

    def apply_sync(self, sync):
        for key, msg in sync.items():
            mine = self.shared.get(int(key))
            if mine is not None:
                new = self.decode({**msg, "id": None})
                if new.shape == mine.shape:
                    self.np.copyto(mine, new, casting="unsafe")

    # --- requests ---
    def send(self, msg):
        self.write_line(json.dumps(msg))

    def request(self, msg):
        self.send(msg)
        while True:
            reply = json.loads(self.read_line())
            if "op" in reply:  # the other end asks something first: serve it
                self.serve_one(reply)
                continue
            self.apply_sync(reply.get("sync", {}))
            if "error" in reply:
                if reply["ename"] == "NotImplementedError":
                    raise NotImplementedError(reply["error"])
                raise remote_error(reply["ename"], reply["error"])
            return self.decode(reply["value"])

    def serve_one(self, msg):
        try:
            value = self.answer(msg)
            reply = {"value": self.encode(value)}
        except BaseException as exc:  # noqa: BLE001  (errors travel back as replies)
            reply = {"error": str(exc)[:500], "ename": type(exc).__name__}
        if not self.share_arrays:
            reply["sync"] = self.changed_shared_arrays()
        self.send(reply)

    def answer(self, msg):
        op = msg["op"]
        if op in ("getattr", "setattr") and not self.serve_private and msg["name"].startswith("__"):
            raise AttributeError(f"{msg['name']} is not available here")
        target = self.objects.get(msg.get("target"))
        if op == "getattr":
            return getattr(target, msg["name"])
        if op == "setattr":
            setattr(target, msg["name"], self.decode(msg["value"]))
            return None
        if op == "call":
            kwargs = {k: self.decode(v) for k, v in msg.get("kwargs", {}).items()}
            return target(*[self.decode(a) for a in msg["args"]], **kwargs)
        if op == "isinstance":
            return isinstance(self.decode(msg["args"][0]), target)
        return self.extra_op(msg)

    def extra_op(self, msg):
        raise ValueError(f"unknown request {msg['op']!r}")


class SandboxEnd(Endpoint):
    """The sandboxed process's end: runs cells, looks up names, answers with time limits."""

    def __init__(self, read_line, write_line, np, seconds):
        super().__init__(read_line, write_line, np, serve_private=True, share_arrays=False)
        self.namespace = {"__name__": "__main__"}
        self.seconds = seconds

    def answer(self, msg):
        signal.signal(signal.SIGALRM, _raise_timeout)
        signal.alarm(self.seconds)
        try:
            return super().answer(msg)
        finally:
            signal.alarm(0)

    def extra_op(self, msg):
        if msg["op"] == "get":
            if msg["name"] not in self.namespace:
                raise NameError(f"{msg['name']} is not defined by your code")
            return self.namespace[msg["name"]]
        if msg["op"] == "exec":
            errors = []  # [cell id, what it raised]: a list travels by value
            for cell in msg["cells"]:
                try:
                    code = compile(cell["source"], f"<cell {cell['id']}>", "exec")
                    exec(code, self.namespace)  # noqa: S102  (running student code is the job)
                except BaseException as exc:  # noqa: BLE001  (report it, run the next cell)
                    errors.append([cell["id"], f"{type(exc).__name__}: {exc}"[:500]])
            return errors
        return super().extra_op(msg)


class CallTimeout(BaseException):
    """SIGALRM: one request ran too long (a BaseException, so `except Exception` won't eat it)."""


def _raise_timeout(signum, frame):
    raise CallTimeout("the code ran too long and was stopped")


def main():
    request_fd, reply_fd, site_packages, seconds = sys.argv[1:5]
    sys.path[:0] = [os.getcwd(), site_packages]
    import numpy as np

    requests = os.fdopen(int(request_fd), "r")
    replies = os.fdopen(int(reply_fd), "w")

    def read_line():
        line = requests.readline()
        if not line:
            sys.exit(0)  # the grader closed the wire: done
        return line

    def write_line(text):
        replies.write(text + "\n")
        replies.flush()

    end = SandboxEnd(read_line, write_line, np, int(seconds))
    while True:
        end.serve_one(json.loads(read_line()))


if __name__ == "__main__":
    main()
