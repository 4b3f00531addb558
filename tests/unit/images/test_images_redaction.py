"""Registry passwords are masked in what Celery shows."""

from __future__ import annotations

from contract.redaction import MASK, redacted, redacted_repr


def test_passwords_are_masked_at_any_depth_and_the_input_is_untouched() -> None:
    kwargs = {
        "image_configs": {"x": {"registry": {"username": "u", "password": "pw"}}},
        "registry_conf": {"password": "pw2"},
        "list": [{"password": "pw3"}],
    }
    masked = redacted(kwargs)
    assert "pw" not in redacted_repr(kwargs).replace(MASK, "").replace("password", "")
    assert masked["image_configs"]["x"]["registry"] == {"username": "u", "password": MASK}
    assert kwargs["registry_conf"]["password"] == "pw2"


def test_an_absent_password_stays_none() -> None:
    assert redacted({"password": None}) == {"password": None}
