"""What every mlstack component shares: its type token, and one error for a bad argument.

A component derives from :class:`Component` and names its token once::

    class Endpoint(Component, token="mlstack:index:Endpoint"):
        def __init__(self, name: str, args: EndpointArgs, opts=None) -> None:
            if args.spec.is_kserve:
                raise ComponentError.bad("spec.backend", "is kserve", fix="build it with InferenceService")
            super().__init__(name, opts)      # registers mlstack:index:Endpoint
            ...

and its inputs derive from :class:`ComponentArgs`. Whatever a caller gets wrong — a field pydantic
refuses (``EndpointArgs(endpoint_name="bad name")``), a rule between arguments the component
checks, a problem list of :class:`~mlstack.errors.ConfigError` — ends as one
:class:`ComponentError` naming the component, the argument, what is wrong and how to fix it::

    Endpoint 'scoring': argument spec.rollout: a canary needs at least 2 instances (got 1); raise instance_count

It is a ``pulumi.RunError``, so ``pulumi up`` prints the message and no traceback, and the
``mlstack`` commands print it and exit 2. The conversion happens here, in one place: the
``__init__`` of every subclass is wrapped when the class is defined.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional, Sequence

import pulumi
from pydantic import ValidationError
from pydantic.alias_generators import to_snake

from ..errors import _MISSING, ConfigError, SpecProblems
from ..specs.base import Spec

__all__ = ["Component", "ComponentArgs", "ComponentError", "ArgumentProblem"]


@dataclass(frozen=True)
class ArgumentProblem:
    """One bad argument: which (``spec.rollout.size``; None for the arguments as a whole), what
    is wrong with it, and how to fix it."""

    argument: Optional[str]
    message: str
    fix: Optional[str] = None


class ComponentError(pulumi.RunError):
    """A bad argument to an mlstack component, with every problem found at once.

    ``component`` is the class (``Endpoint``), ``name`` the resource name (None when the
    arguments were refused before the component was created, e.g. by ``EndpointArgs(...)``),
    ``argument``, ``message`` and ``fix`` those of the first problem, ``problems`` all of them.
    """

    def __init__(
        self,
        component: Optional[str],
        argument: Optional[str],
        message: str,
        fix: Optional[str] = None,
        *,
        name: Optional[str] = None,
        more: Sequence[ArgumentProblem] = (),
    ) -> None:
        self.component = component
        self.name = name
        self.problems: list[ArgumentProblem] = [ArgumentProblem(argument, message, fix), *more]
        super().__init__(self.render())

    @classmethod
    def bad(cls, argument: Optional[str], message: str, *, fix: Optional[str] = None) -> "ComponentError":
        """The error a component's ``__init__`` raises; :class:`Component` adds who raised it."""
        return cls(None, argument, message, fix)

    @classmethod
    def of(cls, problems: Sequence[ArgumentProblem], *, component: Optional[str] = None, name: Optional[str] = None) -> "ComponentError":
        first, *more = problems
        return cls(component, first.argument, first.message, first.fix, name=name, more=more)

    @property
    def argument(self) -> Optional[str]:
        return self.problems[0].argument

    @property
    def message(self) -> str:
        return self.problems[0].message

    @property
    def fix(self) -> Optional[str]:
        return self.problems[0].fix

    def naming(self, component: str, name: Optional[str]) -> "ComponentError":
        """This error, said by ``component`` ``name`` unless a component already said it."""
        if self.component is not None:
            return self
        return ComponentError.of(self.problems, component=component, name=name)

    def render(self) -> str:
        who = self.component or "component"
        if self.name is not None:
            who += f" {self.name!r}"
        lines = []
        for problem in self.problems:
            where = f"argument {problem.argument}: " if problem.argument else ""
            fix = f"; {problem.fix}" if problem.fix else ""
            lines.append(f"{who}: {where}{problem.message}{fix}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


def _argument(loc: Sequence[Any]) -> Optional[str]:
    """A pydantic error location as the Python argument it names: ``spec.rollout.size``, ``groups[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = to_snake(str(part))
            out += f".{text}" if out else text
    return out or None


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def problems_from_validation(exc: ValidationError, *, fields: Sequence[str] = ()) -> list[ArgumentProblem]:
    """Every error of ``exc`` as an :class:`ArgumentProblem`; ``fields`` are the model's
    arguments, offered for a misspelt one."""
    import difflib

    problems: list[ArgumentProblem] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        several = (error.get("ctx") or {}).get("error")
        if isinstance(several, SpecProblems):
            problems += [ArgumentProblem(_argument(loc + tuple(sub)), text) for sub, text in several.problems]
            continue
        argument = _argument(loc)
        kind = error["type"]
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        fix = None
        if kind == "missing":
            message, fix = "is required", f"pass {argument}"
        elif kind == "extra_forbidden":
            close = difflib.get_close_matches(str(argument), list(fields), n=1) if len(loc) == 1 else []
            message = "is not an argument here"
            fix = f"did you mean {close[0]}?" if close else (f"the arguments are {', '.join(fields)}" if len(loc) == 1 and fields else None)
        elif loc and "input" in error and not isinstance(error["input"], (dict, Spec)):
            message += f" (got {_short(error['input'])})"
        problems.append(ArgumentProblem(argument, message, fix))
    return problems


def problems_from_config_error(exc: ConfigError) -> list[ArgumentProblem]:
    """A :class:`~mlstack.errors.ConfigError`'s problems as argument problems (its key paths are
    the arguments)."""
    out = []
    for p in exc.problems:
        message = p.message
        if p.value is not _MISSING:
            message += f" (got {_short(p.value)})"
        out.append(ArgumentProblem(p.path or None, message, p.hint))
    return out


class ComponentArgs(Spec):
    """Base of every component's inputs: a field pydantic refuses raises :class:`ComponentError`
    (component: the class name without ``Args``), not a ``ValidationError``."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise self._error(exc) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            raise cls._error(exc) from None

    @classmethod
    def _error(cls, exc: ValidationError) -> ComponentError:
        problems = problems_from_validation(exc, fields=list(cls.model_fields))
        return ComponentError.of(problems, component=cls.__name__.removesuffix("Args"))


def _reports_bad_arguments(init: Callable[..., None], component: str) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: Any, name: str, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, name, *args, **kwargs)
        except ComponentError as exc:
            raise exc.naming(component, name) from None
        except ValidationError as exc:
            raise ComponentError.of(problems_from_validation(exc), component=component, name=name) from None
        except ConfigError as exc:
            raise ComponentError.of(problems_from_config_error(exc), component=component, name=name) from None

    return __init__


class Component(pulumi.ComponentResource):
    """Base of mlstack's components (see the module docstring): ``token`` is the Pulumi type,
    and every error about the arguments leaves ``__init__`` as a :class:`ComponentError`.

    Only the errors that mean bad input are converted (ComponentError, pydantic's
    ValidationError, ConfigError); anything else is mlstack's bug and keeps its traceback.
    """

    pulumi_type: ClassVar[str]

    def __init_subclass__(cls, *, token: Optional[str] = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if token is not None:
            cls.pulumi_type = token
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _reports_bad_arguments(init, cls.__name__)  # type: ignore[method-assign]

    def __init__(self, name: str, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(self.pulumi_type, name, None, opts)
