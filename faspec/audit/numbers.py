r"""The number reader: at a digit or sign, the whole printed notation and whether it is a number.

Reads sign, thousands groups, decimals, ``5e-4``, ``\times 10^{k}``, ``\pm`` std, ``--``
ranges, ``\%``, ``pp``, ``25\times`` and siunitx ``\num``/``\SI``/``\qty`` with a small
look-ahead; filters years, dates and hand-written cross references; and emits a `NumberHit`
with its precision, cell, column header and context. A mixin of `Scanner`.
"""

from __future__ import annotations

from decimal import Decimal

from faspec.audit.hits import Extraction, NumberHit, Source
from faspec.audit.numparts import (
    _balance,
    _glue,
    _is_year,
    _kind,
    _mk_part,
    _num_start,
    _Parsed,
    _Part,
    _pm_at,
    _relation,
    _times_at,
)
from faspec.audit.texnames import (
    _DIGITS,
    _ISO_DATE,
    _LENGTH_REGISTER,
    _LENGTH_UNITS_SPACED,
    _LETTERS,
    _MAGNITUDE,
    _MONTH_AFTER,
    _MONTH_BEFORE,
    _PP,
    _REF_BEFORE,
    _SIGNS,
    _UNITS,
    _WORD,
)
from faspec.audit.textscan import (
    _control_word_before,
    _exp_arg,
    _read_cs,
    _scalar,
    _skip_ws,
    _word_letter_before,
)


class NumberReader:
    """Mixin of `Scanner`: the number-level half of the pass.

    It reads the scanner's state (declared here, set by `Scanner`) and calls its `math`,
    `emit`, `_table`, `_envs`, `_line_col` and `_context`."""

    src: Source | None
    result: Extraction
    suppress_end: int
    pm_macros: set[str]
    macro_names: set[str]

    # ---- numbers

    def _number(self, t: str, i: int) -> int:
        n = len(t)
        if i < self.suppress_end:
            return i + 1
        c = t[i]
        math = self.math
        if c in _SIGNS:
            j = i + 1
            if t.startswith("$", j) and not t.startswith("$$", j):  # $-$0.3
                j += 1
            if math or t.startswith("$", i + 1):
                j = _skip_ws(t, j, par=False)
            if not (
                j < n and (t[j] in _DIGITS or (t[j] == "." and j + 1 < n and t[j + 1] in _DIGITS))
            ):
                return i + 1
            if not self._sign_ok(t, i, math):
                return i + 1
        elif self._attached(t, i):
            k = i
            while k < n and (t[k] in _DIGITS or t[k] == "." and k + 1 < n and t[k + 1] in _DIGITS):
                k += 1
            m = _WORD.match(t, k) if not math else None
            return m.end() if m else k
        if c in _DIGITS:
            m = _ISO_DATE.match(t, i)
            if m:
                return m.end()
        parsed = self._parse(t, i, math)
        if parsed is None:
            return i + 1
        self.suppress_end = max(self.suppress_end, parsed.end)
        if not parsed.reject and self._keep(t, parsed, math):
            self._emit(t, parsed, None)
        # go on right after the first character: the rest of the number is suppressed, but its
        # '$', braces and commands still move the mode and group state
        return i + 1

    def _sign_ok(self, t: str, i: int, math: bool) -> bool:
        """A '+'/'-' is a sign (not a hyphen, dash or binary operator) where nothing precedes it
        that could be its left operand."""
        if t[i] == "\u2212":
            return not _word_letter_before(t, i) and not (i > 0 and t[i - 1] in _DIGITS)
        k = i
        if math:
            while k > 0 and t[k - 1] in " \t\n":
                k -= 1
        if k == 0:
            return True
        p = t[k - 1]
        if p in "-\u2013":
            return False  # the end of a dash: 2--3 is a range, not 2 and -3
        if math:
            return p in "([{$&=,;:<>|!~^_" or _control_word_before(t, k)
        return p in " \t\n([{$&=,;:~/"

    def _attached(self, t: str, i: int) -> bool:
        """Digits glued to a word are part of a name: CIFAR-10, fp32, A.1, ViT-B/16, #1."""
        if i == 0:
            return False
        p = t[i - 1]
        if p == "#":
            return True
        if p in "xX" and i >= 2 and t[i - 2] in _DIGITS:
            return False  # 3x3
        if _word_letter_before(t, i):
            return True
        if p in "-/.@" and _word_letter_before(t, i - 1) and not self.math:
            return True  # CIFAR-10, ViT-B/16, A.1, AP@50
        return p in _DIGITS  # the middle of a digit run already read

    def _parse(self, t: str, s: int, math: bool) -> _Parsed | None:
        head_r = self._part(t, s, math)
        if head_r is None:
            return None
        head, e, m = head_r
        if isinstance(head, int):  # a version number 1.2.3
            return _Parsed(s, head, _mk_part("", "0", ""), reject=True)
        p = _Parsed(s, e, head)
        # a factor: 25\times, 25$\times$, 25× (not a size 3\times 3, not \times 10^k)
        if not head.sci:
            g, m2 = _glue(t, e, m)
            tm = _times_at(t, g)
            if tm is not None and tm[0] != "cdot":
                g2, _ = _glue(t, tm[1], m2)
                if not _num_start(t, g2):
                    p.unit, p.kind_hint, p.end = "×", "times", tm[1]
                    return self._tail(t, p, m2)
        unit = self._unit(t, e, m, p, head)
        if unit is None:
            return self._tail(t, p, m)
        if unit[0] == "reject":
            p.reject, p.end = True, unit[1]
            return p
        if unit[0]:
            p.unit, e, m = unit[0], unit[1], unit[2]
            p.end = e
        return self._tail(t, p, m)

    def _tail(self, t: str, p: _Parsed, m: bool) -> _Parsed:
        """After mean (+unit): an optional ± std, a closing ')' with a shared unit, or a range."""
        n = len(t)
        e = p.end
        g, m2 = _glue(t, e, m)
        if g < n and t[g] in "_^":  # $0.401_{\pm 0.009}$
            g_alt, m_alt = _glue(t, g + 1, m2)
            if _pm_at(t, g_alt, self.pm_macros) is not None:
                g, m2 = g_alt, m_alt
        paren_std = False
        if g < n and t[g] == "(":
            g3, m3 = _glue(t, g + 1, m2)
            if _pm_at(t, g3, self.pm_macros):
                paren_std, g, m2 = True, g3, m3
        pm = _pm_at(t, g, self.pm_macros)
        if pm is not None and p.upper is None:
            g2, m3 = _glue(t, pm, m2)
            if g2 < n and t[g2] == "(":  # 0.401 \pm (0.009)
                g2, m3 = _glue(t, g2 + 1, m3)
            r = self._part(t, g2, m3, signed=False)
            if r is not None and not isinstance(r[0], int):
                std, e2, m4 = r
                p.std, p.end = std, e2
                u = self._unit(t, e2, m4, p, std)
                if u is not None and u[0] not in (None, "reject"):
                    if p.unit is None:
                        p.unit = u[0]
                    p.end, m4 = u[1], u[2]
                g4, m5 = _glue(t, p.end, m4)
                if paren_std and g4 < n and t[g4] == ")":
                    p.end, m4 = g4 + 1, m5
                elif self._opened_paren(t, p.start) >= 0 and g4 < n and t[g4] == ")":
                    self._shared_suffix(t, p, g4 + 1, m5)
                return p
        if p.std is None and p.upper is None:
            d = self._dash_at(t, e, g, m2)
            if d is not None:
                g2, m3 = _glue(t, d, m2)
                r = self._part(t, g2, m3, signed=True)
                if r is not None and not isinstance(r[0], int):
                    up, e2, m4 = r
                    p.upper, p.end = up, e2
                    u = self._unit(t, e2, m4, p, up)
                    if u is not None and u[0] == "reject":
                        p.reject = True
                        p.end = u[1]
                    elif u is not None and u[0]:
                        if p.unit is None:
                            p.unit = u[0]
                        p.end = u[1]
                    else:
                        g5, m5 = _glue(t, e2, m4)
                        tm = _times_at(t, g5)
                        if tm is not None and tm[0] != "cdot" and p.kind_hint is None:
                            g6, _ = _glue(t, tm[1], m5)
                            if not _num_start(t, g6):
                                p.unit, p.kind_hint, p.end = "×", "times", tm[1]
        return p

    def _opened_paren(self, t: str, s: int) -> int:
        """Offset of a '(' that opens right before the number at s (spaces, '$', '{' between),
        or -1 when there is none."""
        k = s
        while k > 0 and (t[k - 1] in " \t{$~"):
            k -= 1
        return k - 1 if k > 0 and t[k - 1] == "(" else -1

    def _shared_suffix(self, t: str, p: _Parsed, after: int, m: bool) -> None:
        """(1.2 \\pm 0.3)\\times 10^{-3} and (61.5 \\pm 0.3)\\%: the suffix applies to both.
        `after` is just past the ')'; without a suffix the ')' stays out of the number."""
        n = len(t)
        g, m2 = _glue(t, after, m)
        tm = _times_at(t, g)
        if tm is not None:
            g2, _ = _glue(t, tm[1], m2)
            if t.startswith("10", g2) and not (g2 + 2 < n and t[g2 + 2] in _DIGITS):
                k = _skip_ws(t, g2 + 2, par=False)
                if k < n and t[k] == "^":
                    ea = _exp_arg(t, k + 1)
                    if ea is not None:
                        for part in (p.head, p.std):
                            if part is not None:
                                part.exponent += ea[0]
                                part.sci = True
                        p.end = ea[1]
                        p.start = self._opened_paren(t, p.start)
                        return
        u = self._unit(t, after, m, p, p.head)
        if u is not None and u[0] in ("%", "pp") and p.unit is None:
            p.unit, p.end = u[0], u[1]
            p.start = self._opened_paren(t, p.start)

    def _dash_at(self, t: str, e: int, g: int, m: bool) -> int | None:
        """A range dash: '--' (not '---'), '–', \\textendash, or a glued '-' between digits in
        text; the index after it."""
        n = len(t)
        if t.startswith("--", g) and not t.startswith("---", g):
            return g + 2
        if g < n and t[g] == "\u2013":
            return g + 1
        if t.startswith("\\textendash", g):
            return g + len("\\textendash")
        if not m and g == e and g + 1 < n and t[g] == "-" and t[g + 1] in _DIGITS:
            return g + 1
        return None

    def _part(
        self, t: str, i: int, math: bool, signed: bool = True
    ) -> tuple[_Part | int, int, bool] | None:
        """One value: sign, scalar, ^exponent, \\times 10^k. Returns (part, end, math) or
        (end_of_version, end, math) for 1.2.3, or None."""
        n = len(t)
        sign = ""
        j = i
        if signed and j < n and t[j] in _SIGNS:
            sign = "+" if t[j] == "+" else "-"
            j += 1
            if t.startswith("$", j) and not t.startswith("$$", j):  # $-$0.3
                j += 1
                math = not math
            if math or t[j - 1] == "$":
                j = _skip_ws(t, j, par=False)
        sc = _scalar(t, j, math)
        if sc is None:
            return None
        if sc.version:
            return sc.end, sc.end, math
        int_d = sc.int_digits or "0"
        part = _mk_part(
            sign, int_d, sc.frac, sc.e_exp or 0, sci=sc.e_exp is not None, grouped=sc.grouped,
            end=sc.end, bare_int=bool(sc.int_digits),
        )  # fmt: skip
        e = sc.end
        k = _skip_ws(t, e, par=False) if math else e
        sup = 1 if k < n and t[k] == "^" else 0
        if t.startswith("\\textsuperscript", k) and not t[k + 16 : k + 17].isalpha():
            sup = 16
        if sup:
            ea = _exp_arg(t, k + sup)
            if ea is not None:
                plain = not sc.frac and sc.e_exp is None and not sc.grouped and sc.int_digits
                if plain and sc.int_digits == "10":
                    part = _mk_part(sign, "1", "", ea[0], sci=True, end=ea[1])
                elif sc.e_exp is None and not sc.grouped and 0 <= ea[0] <= 12:
                    # 2^{10} prints 1024, 1.5^2 prints 2.25: exact in decimal
                    power = format(Decimal(f"{sc.int_digits or 0}.{sc.frac or 0}") ** ea[0], "f")
                    pi, _, pf = power.partition(".")
                    pf = pf[: len(sc.frac) * ea[0]]
                    part = _mk_part(sign, pi, pf, end=ea[1])
                e = ea[1]  # otherwise the exponent is notation, not a number
        if not part.sci:
            g, m2 = _glue(t, e, math)
            tm = _times_at(t, g)
            if tm is not None:
                g2, m3 = _glue(t, tm[1], m2)
                if t.startswith("10", g2) and not (g2 + 2 < n and t[g2 + 2] in _DIGITS):
                    k = _skip_ws(t, g2 + 2, par=False)
                    if k < n and t[k] == "^":
                        ea = _exp_arg(t, k + 1)
                        if ea is not None:
                            part.exponent += ea[0]
                            part.sci = True
                            e, math = ea[1], m3
        part.end = e
        return part, e, math

    def _unit(
        self, t: str, e: int, m: bool, p: _Parsed, part: _Part
    ) -> tuple[str, int] | tuple[str, int, bool] | None:
        """What follows a value: None, ("reject", end) for lengths/ordinals/names, or
        (unit|None, end, math)."""
        n = len(t)
        if e < n and t[e].isascii() and t[e].isalpha():
            w = _LETTERS.match(t, e)
            assert w is not None
            word, we = w.group(), w.end()
            if m:
                return None
            if word in ("x", "X"):
                if we < n and t[we] in _DIGITS:
                    return None  # 3x3: a size, two numbers
                p.kind_hint = "multiplier"
                return "×", we, m
            if word in _MAGNITUDE:
                part.exponent += _MAGNITUDE[word]
                return word, we, m
            if word == "s" and _is_year(part):  # the 1990s
                return "reject", we
            if word in _UNITS:
                return word, we, m
            return "reject", _WORD.match(t, e).end() if _WORD.match(t, e) else we  # type: ignore[union-attr]
        g, m2 = _glue(t, e, m)
        if g >= n:
            return None
        if t.startswith("\\%", g):
            return "%", g + 2, m2
        if t[g] == "\\":
            name, k = _read_cs(t, g)
            if name in ("percent", "textpercent"):
                return "%", k, m2
            if _LENGTH_REGISTER.match(name):
                return "reject", k
        if t[g] in "\\%" or t[g].isalpha():
            mm = _PP.match(t, g)
            if mm:
                return "pp", mm.end(), m2
        if t[g].isascii() and t[g].isalpha():
            w = _LETTERS.match(t, g)
            assert w is not None
            if w.group() in _LENGTH_UNITS_SPACED and g - e <= 2 and "\n" not in t[e:g]:
                return "reject", w.end()
        if t.startswith("\\text{\\%}", g) or t.startswith("\\mbox{\\%}", g):
            return "%", g + 9, m2
        return None

    def _keep(self, t: str, p: _Parsed, math: bool) -> bool:
        """Filters on context: years, dates, hand-written cross references."""
        head = p.head
        before = t[max(0, p.start - 40) : p.start]
        if _REF_BEFORE.search(before):
            return False
        plain_int = head.integer and not head.grouped and not head.sign and p.unit is None
        if plain_int and p.std is None and not head.sci and not math and self._table() is None:
            if _is_year(head) and (p.upper is None or _is_year(p.upper)) and head.mantissa != 2048:
                return False
        if plain_int and p.upper is None and p.std is None and 1 <= head.mantissa <= 31:
            if _MONTH_BEFORE.search(before) or _MONTH_AFTER.match(t, p.end):
                return False
        return True

    def _emit(self, t: str, p: _Parsed, kind: str | None) -> None:
        if not self.emit:
            return
        assert self.src is not None
        head = p.head
        end = _balance(t, p.start, p.end)
        if kind is None:
            kind = _kind(p)
        line, col = self._line_col(p.start)
        rel = _relation(t, p.start)
        tab = self._table()
        frame_math = self.math
        hit = NumberHit(
            file=self.src.file,
            line=line,
            col=col,
            text=t[p.start : end],
            value=head.value,
            kind=kind,
            std=abs(p.std.value) if p.std is not None else None,
            upper=p.upper.value if p.upper is not None else None,
            unit=p.unit,
            sign=head.sign,
            mantissa=head.mantissa,
            decimals=head.decimals,
            sig_digits=head.sig,
            exponent=head.exponent,
            resolution=head.resolution,
            std_decimals=p.std.decimals if p.std is not None else None,
            std_resolution=p.std.resolution if p.std is not None else None,
            upper_decimals=p.upper.decimals if p.upper is not None else None,
            upper_resolution=p.upper.resolution if p.upper is not None else None,
            relation=rel,
            math=frame_math,
            envs=self._envs(),
            cell=(tab.row, tab.col) if tab is not None else None,
            header=tab.grid.header(tab.row, tab.col) if tab and tab.grid else "",
            row_header=tab.grid.row_header(tab.row, tab.col) if tab and tab.grid else "",
            cell_text=tab.grid.cell_text(self.src.file, t, p.start, end)
            if tab and tab.grid
            else "",
            context=self._context(p.start, end),
            start=p.start,
            end=end,
        )
        self.result.numbers.append(hit)
