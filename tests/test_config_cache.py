"""The validated config kept between commands: always the file's current content, never a
secret, never trusted when damaged or writable by others, never kept when invalid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config, config_cache

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own cache folder."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "xunbao"


def written(tmp_path: Path, old: str = "", new: str = "") -> Path:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def full_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every full `config.load`, i.e. every miss of the cache."""
    calls: list[Path] = []
    real = config.load

    def counted(path: Path, on_this_machine: bool = False) -> config.Loaded:
        calls.append(path)
        return real(path, on_this_machine)

    monkeypatch.setattr(config, "load", counted)
    return calls


def test_the_second_load_is_the_kept_one_and_equal(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, calls = written(tmp_path), full_loads(monkeypatch)
    first = config_cache.load(path)
    assert len(list(cache.glob("config-*.pickle"))) == 1
    second = config_cache.load(path)
    assert calls == [path]
    assert second == first and second.config.digest == first.config.digest
    assert second.config.root == tmp_path


def test_an_edit_is_seen_at_once(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    assert config_cache.load(path).config.campaign.target == 71000
    text = path.read_text(encoding="utf-8").replace("target: 71000", "target: 71001", 1)
    path.write_text(text, encoding="utf-8")
    assert config_cache.load(path).config.campaign.target == 71001


@pytest.mark.parametrize("damage", [b"", b"not a pickle", b"\x80\x05garbage"])
def test_a_damaged_entry_is_rebuilt(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, damage: bytes
) -> None:
    path = written(tmp_path)
    config_cache.load(path)
    (entry,) = cache.glob("config-*.pickle")
    entry.write_bytes(damage)
    calls = full_loads(monkeypatch)
    assert config_cache.load(path).config.campaign.target == 71000
    assert calls == [path] and entry.read_bytes() != damage
    config_cache.load(path)
    assert calls == [path]  # rewritten whole, then used


def test_an_entry_others_may_write_is_not_trusted(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = written(tmp_path)
    config_cache.load(path)
    (entry,) = cache.glob("config-*.pickle")
    assert entry.stat().st_mode & 0o777 == 0o600
    entry.chmod(0o664)
    calls = full_loads(monkeypatch)
    config_cache.load(path)
    assert calls == [path]


def test_the_entry_holds_no_password(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = "Imap-Code-5f3a9c"
    monkeypatch.setenv("XUNBAO_IMAP_PASSWORD", code)
    (tmp_path / "smtp.secret").write_text("Smtp-Code-81b2e4\n", encoding="utf-8")
    path = written(tmp_path, "  password_env: XUNBAO_SMTP_PASSWORD", "  password_file: smtp.secret")
    loaded = config_cache.load(path)
    (entry,) = cache.glob("config-*.pickle")
    kept = entry.read_bytes()
    assert code.encode() not in kept and b"Smtp-Code" not in kept
    smtp = loaded.config.delivery
    assert config.secret("", loaded.config.resolve(smtp.password_file), "x") == "Smtp-Code-81b2e4"
    assert config.secret(loaded.config.mailbox.password_env, None, "x") == code


def test_a_bad_config_gives_the_same_problems_and_is_not_kept(tmp_path: Path, cache: Path) -> None:
    path = written(tmp_path, "target: 71000", "target: 七万一千")
    with pytest.raises(config.ConfigError) as direct:
        config.load(path)
    with pytest.raises(config.ConfigError) as cached:
        config_cache.load(path)
    assert cached.value.problems == direct.value.problems
    assert not list(cache.glob("config-*.pickle"))
    with pytest.raises(config.ConfigError) as missing:
        config_cache.load(tmp_path / "absent.yaml")
    assert "找不到配置文件" in missing.value.problems[0]


def test_a_password_env_judged_by_the_environment_is_judged_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A long single word passes only while a variable of that name is set.
    path = written(tmp_path, "# password_env: XUNBAO_IMAP_PASSWORD", "password_env: XUNBAOIMAPCODE")
    monkeypatch.setenv("XUNBAOIMAPCODE", "x")
    config_cache.load(path)
    monkeypatch.delenv("XUNBAOIMAPCODE")
    with pytest.raises(config.ConfigError) as direct:
        config.load(path)
    with pytest.raises(config.ConfigError) as cached:
        config_cache.load(path)
    assert cached.value.problems == direct.value.problems


def test_a_kept_config_needs_no_yaml_and_builds_no_validator(tmp_path: Path) -> None:
    path = written(tmp_path)
    script = (
        "import sys\nfrom pathlib import Path\nfrom pipeline import config, config_cache\n"
        f"loaded = config_cache.load(Path({str(path)!r}))\nloaded.config.digest\n"
        "print('yaml' in sys.modules, config.Config.__pydantic_complete__)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs == [["True", "True"], ["False", "False"]]


def test_a_changed_copy_has_its_own_digest() -> None:
    kept = config.load(ROOT / "config.yaml").config
    digest = kept.digest  # computed, and so held, before the copies are made
    changed = kept.model_copy(update={"campaign": kept.campaign.model_copy(update={"target": 1})})
    fresh = config.Config.model_validate(changed.model_dump())
    assert changed.digest == fresh.digest != digest
    assert kept.model_copy().digest == digest
