"""Lab specs load, match the checks one to one, and bad spec files get a clear error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import checks
from grader.spec import SpecError, available_specs, load_spec


def check_functions() -> dict[str, object]:
    found = {}
    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("test_"):
            loaded = importlib.import_module(f"checks.{module.name}")
            for name, fn in inspect.getmembers(loaded, inspect.isfunction):
                if name.startswith("test_") and fn.__module__ == loaded.__name__:
                    found[f"{module.name[5:]}.{name[5:]}"] = fn
    return found


@pytest.mark.parametrize("spec_id", available_specs())
def test_spec_lists_exactly_the_checks_that_exist(spec_id: str) -> None:
    """Every check has a spec entry with points and a hint, and every entry has a check."""
    spec = load_spec(spec_id)
    assert set(spec.checks) == set(check_functions())
    for entry in spec.checks.values():
        assert entry.points > 0
        assert entry.hint
        assert entry.title
        assert entry.section


def test_both_editions_are_built_in() -> None:
    """The default spec follows the lab text; the 2025 edition is selectable."""
    assert {"itm300-m03", "itm300-m03-2025"} <= set(available_specs())
    assert load_spec().expected.pool_name == "VehicleAppUserPool"
    assert load_spec("itm300-m03-2025").expected.client_name == "VechicleApp"


def test_every_check_says_when_it_passes() -> None:
    """Each check has one short docstring that starts with 'Passes when'."""
    for check_id, fn in check_functions().items():
        doc = inspect.getdoc(fn) or ""
        assert doc.startswith("Passes when"), check_id


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = (Path(__file__).parents[1] / "grader" / "labs" / "itm300-m03.toml").read_text(encoding="utf-8")


def test_an_instructors_copy_loads_from_a_path(tmp_path: Path) -> None:
    """A spec file given by path loads like a built-in one."""
    spec = load_spec(_write(tmp_path, BASE.replace('id = "itm300-m03"', 'id = "my-course"')))
    assert spec.id == "my-course"


@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (('mfa = "OFF"', 'mfa = "OFF"\nmfaa = "OFF"'), "unknown key expected.mfaa"),
        (("points = 2", 'points = "two"'), "must be a number"),
        (
            ("admin_create_user_only = true", 'admin_create_user_only = "yes"'),
            "expected.admin_create_user_only must be true or false",
        ),
        (
            ('[checks."pool.mfa_off"]', '[checks."pool.mfa_off"]\ncolour = "red"'),
            "unknown key checks.pool.mfa_off.colour",
        ),
        (('title = "MFA is off"\n', ""), "checks.pool.mfa_off.title is required"),
        (('id = "itm300-m03"', "id = [1]"), "id must be a string"),
        (("[expected]", "[expected\n"), "not valid TOML"),
    ],
)
def test_a_bad_spec_names_the_file_and_key(tmp_path: Path, change: tuple[str, str], phrase: str) -> None:
    """Unknown keys, wrong types, missing keys and broken TOML each give one clear sentence."""
    assert change[0] in BASE
    path = _write(tmp_path, BASE.replace(change[0], change[1], 1))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert str(path) in str(raised.value)
    assert phrase in str(raised.value)


def test_an_unknown_spec_id_lists_the_built_in_ones() -> None:
    """Asking for a spec that does not exist says which ones do."""
    with pytest.raises(SpecError, match="itm300-m03-2025"):
        load_spec("itm300-m99")


@pytest.mark.parametrize("spec_id", available_specs())
def test_the_course_sites_link_is_advisory_in_the_built_in_specs(spec_id: str) -> None:
    """Both editions make site.hosted_ui_link advisory (the course template's trailing slash) and nothing else."""
    spec = load_spec(spec_id)
    assert [cid for cid, meta in spec.checks.items() if meta.advisory] == ["site.hosted_ui_link"]


def test_an_instructor_can_turn_a_check_advisory_or_back(tmp_path: Path) -> None:
    """`advisory = true` on any check makes it advisory; `false` on the link makes it scored again."""
    text = BASE.replace('[checks."pool.mfa_off"]', '[checks."pool.mfa_off"]\nadvisory = true', 1)
    text = text.replace(
        'advisory = true\nhint = "In scripts/settings.js', 'advisory = false\nhint = "In scripts/settings.js', 1
    )
    spec = load_spec(_write(tmp_path, text))
    assert spec.checks["pool.mfa_off"].advisory
    assert not spec.checks["site.hosted_ui_link"].advisory
    bad = _write(tmp_path, BASE.replace('[checks."pool.mfa_off"]', '[checks."pool.mfa_off"]\nadvisory = "yes"', 1))
    with pytest.raises(SpecError, match=r"checks\.pool\.mfa_off\.advisory must be true or false"):
        load_spec(bad)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("points = 2", "points = nan"), "checks.pool.exists.points"),
        (("points = 2", "points = inf"), "checks.pool.exists.points"),
        (("points = 2", "points = -inf"), "checks.pool.exists.points"),
        (("events_days = 90", "events_days = nan"), "expected.events_days"),
        (
            ("[expected.password_policy]", "[expected.password_policy]\nMaximumLength = +inf"),
            "expected.password_policy.MaximumLength",
        ),
    ],
)
def test_a_number_that_is_not_finite_is_refused_naming_the_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    """TOML allows nan and inf; a spec may not (a score of nan would reach results.json and the report)."""
    assert change[0] in BASE
    path = _write(tmp_path, BASE.replace(change[0], change[1], 1))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert str(path) in str(raised.value)
    assert f"{key} must be a finite number" in str(raised.value)


def test_a_spec_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """A spec saved in another encoding (here Latin-1, with an é) is a SpecError naming the file, not a traceback."""
    path = tmp_path / "latin.toml"
    path.write_bytes(BASE.replace('title = "', 'title = "Café ', 1).encode("latin-1"))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert str(path) in str(raised.value)
    assert "not UTF-8" in str(raised.value)


def test_a_spec_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    """A spec path that is a folder (or otherwise unreadable) is a SpecError naming it."""
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    with pytest.raises(SpecError, match=r"folder\.toml cannot be read"):
        load_spec(folder)
