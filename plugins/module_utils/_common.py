# -*- coding: utf-8 -*-
# Copyright: multicast.igmp contributors
# MIT License (see LICENSE)
"""PRIVATE: shared by the modules ``igmp_status`` and ``igmp_probe``; not a public API.

- :func:`text_option_errors`: text that no interface, address, id or path option may hold (NUL
  and other control characters), named in the message. The receive loop lives in
  :mod:`observe`.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text_option_errors(params: Dict[str, Any], names: Iterable[str]) -> List[str]:
    """One message per option in ``names`` whose text holds NUL or another control character;
    checked before the value reaches a system call or a file name."""
    errors = []
    for name in names:
        value = params.get(name)
        if not isinstance(value, str):
            continue
        if "\0" in value:
            errors.append("%s must not contain a NUL byte, got %s" % (name, _show(value)))
        elif _CONTROL.search(value):
            errors.append("%s must not contain control characters, got %s" % (name, _show(value)))
    return errors
