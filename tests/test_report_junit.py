"""JUnit XML: one test case per claim, failures and errors where claims do not pass."""

from __future__ import annotations

from helpers import make_report, make_store
from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite

from faspec.report import junit

EXPECTED = {
    "pass": None,
    "fail": Failure,
    "inconclusive": Failure,
    "error": Error,
    "unsourced": Error,
}


def test_junit_validates_one_case_per_claim(tmp_path):
    st, results, cells = make_store(tmp_path / "results")
    reports = [make_report(st, results, cells), make_report(st, results, cells, spec="second")]
    reports[1]["claims"] = reports[1]["claims"][:1]  # a spec whose only claim passes
    path = tmp_path / "junit.xml"
    path.write_text(junit.render(reports))

    xml = JUnitXml.fromfile(str(path))
    suites = list(xml)
    assert [s.name for s in suites] == ["fa_vs_dfa", "second"]
    for rep, suite in zip(reports, suites, strict=True):
        assert isinstance(suite, TestSuite)
        cases = list(suite)
        assert [c.name for c in cases] == [c["claim_id"] for c in rep["claims"]]
        for claim, case in zip(rep["claims"], cases, strict=True):
            assert case.classname == f"faspec.{rep['spec']}"
            want = EXPECTED[claim["verdict"]]
            if want is None:
                assert case.is_passed and not case.result
                continue
            (res,) = case.result
            assert type(res) is want, (claim["claim_id"], res)
            assert res.type == claim["verdict"]
            assert (
                res.message.startswith(claim["verdict"].upper())
                and claim["message"][:20] in res.message
            )
            assert f"expect: {claim['expect']}" in res.text and "rule:" in res.text
            assert not any(isinstance(r, Skipped) for r in case.result)
        n_fail = sum(1 for c in rep["claims"] if EXPECTED[c["verdict"]] is Failure)
        n_err = sum(1 for c in rep["claims"] if EXPECTED[c["verdict"]] is Error)
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
            len(rep["claims"]),
            n_fail,
            n_err,
            0,
        )
    assert (xml.tests, xml.failures, xml.errors) == (
        sum(s.tests for s in suites),
        sum(s.failures for s in suites),
        sum(s.errors for s in suites),
    )
    assert xml.tests == len(reports[0]["claims"]) + 1 and xml.failures > 0 and xml.errors > 0
    # the error claim's message held a control character, which XML 1.0 cannot carry
    assert "\x07" not in path.read_text()
    # time: the summed wall time of the runs behind the claim
    first = next(iter(suites[0]))
    assert abs(first.time - sum(r["wall_s"] for r in reports[0]["claims"][0]["run_details"])) < 1e-3


def test_junit_of_nothing_is_still_valid(tmp_path):
    path = tmp_path / "empty.xml"
    path.write_text(junit.render([]))
    xml = JUnitXml.fromfile(str(path))
    assert xml.tests == 0 and list(xml) == []
