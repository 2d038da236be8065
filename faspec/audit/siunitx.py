r"""siunitx: ``\num``, ``\SI``, ``\qty``, their ranges and lists, read from their arguments.

``\num{0.401(9)}`` is 0.401 with std 0.009; ``\SI{61.5}{\percent}`` is 61.5 %;
``\numrange{2}{3}`` is a range; a list gives one number per item. An argument that is not a
literal (a macro) is read as ordinary text instead. A mixin of `Scanner`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from faspec.audit.numparts import (
    _mk_part,
    _Parsed,
    _Part,
)
from faspec.audit.texnames import (
    _SIUNITX_NUM,
)
from faspec.audit.textscan import (
    _group_text,
    _skip_sig,
)


class SiunitxReader:
    """Mixin of `Scanner`: the siunitx commands (see the module docstring)."""

    emit: bool

    def _siunitx(self, t: str, i: int, j: int, name: str) -> int:
        k = _skip_sig(t, j, "[")
        if name in ("numrange", "SIrange", "qtyrange"):
            a, k1 = _group_text(t, k)
            b, k2 = _group_text(t, k1)
            if a is None or b is None:
                return j
            k = k2
            items = [a, b]
        else:
            a, k1 = _group_text(t, k)
            if a is None:
                return j
            k = k1
            items = [a]
        unit = None
        if name in ("SI", "SIrange", "SIlist"):
            k = _skip_sig(t, k, "[")
        if name in ("SI", "qty", "SIrange", "qtyrange", "SIlist", "qtylist"):
            u, k3 = _group_text(t, k)
            if u is not None:
                unit, k = u.strip(), k3
        parsed = []
        for item in items if name != "numlist" and name[-4:] != "list" else items[0].split(";"):
            p = self._si_number(item)
            if p is None:
                return j  # not a literal (e.g. a macro): read the arguments as text
            parsed.append(p)
        if unit is not None and re.search(r"\\percent|%", unit):
            unit = "%"
        if not self.emit:
            return k
        if name.endswith("list"):
            pos = t.index("{", _skip_sig(t, j, "[")) + 1
            for item, p in zip(items[0].split(";"), parsed, strict=True):
                off = pos + len(item) - len(item.lstrip())
                self._emit_si(t, off, off + len(item.strip()), p, None, unit)
                pos += len(item) + 1
            return k
        self._emit_si(t, i, k, parsed[0], parsed[1] if len(parsed) > 1 else None, unit)
        return k

    def _si_number(self, s: str) -> tuple[_Part, _Part | None] | None:
        compact = re.sub(r"\\[,;: !]|[\s~{}]", "", s)
        m = _SIUNITX_NUM.match(compact)
        if not m or not (m.group("int") or m.group("frac")):
            return None
        exp = int(m.group("exp").replace("\u2212", "-")) if m.group("exp") else 0
        int_d, frac = m.group("int") or "0", m.group("frac") or ""
        sign = {"-": "-", "\u2212": "-", "+": "+"}.get(m.group("sign") or "", "")
        head = _mk_part(sign, int_d, frac, exp, sci=m.group("exp") is not None)
        std = None
        if m.group("unc"):
            # 0.401(9): the uncertainty in units of the last digit, i.e. 0.009
            unc = str(Decimal(m.group("unc")).scaleb(-len(frac)))
            ui, _, uf = unc.partition(".")
            std = _mk_part("", ui, uf, exp, sci=head.sci)
        elif m.group("std"):
            sd = m.group("std").replace(",", ".")
            si, _, sf = sd.partition(".")
            std = _mk_part("", si or "0", sf, exp, sci=head.sci)
        return head, std

    def _emit_si(
        self,
        t: str,
        start: int,
        end: int,
        p: tuple[_Part, _Part | None],
        upper: tuple[_Part, _Part | None] | None,
        unit: str | None,
    ) -> None:
        head, std = p
        up = upper[0] if upper else None
        kind = "range" if up else "pm" if std else "percent" if unit == "%" else "plain"
        if kind == "plain" and head.sci:
            kind = "sci"
        parsed = _Parsed(start, end, head, unit, None, std, up)
        self._emit(t, parsed, kind)
