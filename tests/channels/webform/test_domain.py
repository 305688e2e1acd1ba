"""Pure rules of the public form: the progress token, URLs, the form definition, contact rules."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huiliu.channels.webform import domain
from huiliu.core.errors import NotFound, ValidationFailed

KEY = "server-secret-key-for-the-token-tests"


def test_progress_token_round_trips_tenant_and_ticket() -> None:
    tenant, ticket = uuid.uuid4(), uuid.uuid4()
    token = domain.progress_token(KEY, tenant, ticket)
    assert token.startswith("v1.") and len(token) < 80
    assert domain.read_progress_token(KEY, token) == (tenant, ticket)


def test_a_token_from_another_key_or_altered_is_not_found() -> None:
    tenant, ticket = uuid.uuid4(), uuid.uuid4()
    token = domain.progress_token(KEY, tenant, ticket)
    other = domain.progress_token(KEY, tenant, uuid.uuid4())
    version, payload, tag = token.split(".")
    forged = [
        domain.progress_token("another-secret-key-of-the-same-length!", tenant, ticket),
        f"{version}.{other.split('.')[1]}.{tag}",  # another ticket's ids under this tag
        f"v2.{payload}.{tag}",
        f"{version}.{payload}",
        f"{version}.{payload}.{tag[:-2]}",
        f"{version}.{payload}.***",
        "",
        "v1..",
        "x" * 500,
    ]
    for candidate in forged:
        with pytest.raises(NotFound):
            domain.read_progress_token(KEY, candidate)


@given(st.text(max_size=120))
def test_arbitrary_strings_are_never_accepted_as_tokens(text: str) -> None:
    with pytest.raises(NotFound):
        domain.read_progress_token(KEY, text)


def test_progress_url_is_built_on_the_public_base() -> None:
    token = domain.progress_token(KEY, uuid.uuid4(), uuid.uuid4())
    assert domain.progress_url("https://help.example.com/", token) == f"https://help.example.com/h5/p/{token}"


def test_form_definition_lists_the_default_fields() -> None:
    definition = domain.form_definition(
        public_key="abc",
        name="门店报修",
        config={"form_title": "报修", "contact_required": "phone", "max_photos": 3},
        max_photo_bytes=1000,
    )
    assert definition["title"] == "报修"
    assert definition["max_photos"] == 3
    names = [field["name"] for field in definition["fields"]]
    assert names == ["description", "title", "contact.name", "contact.phone", "contact.email", "photos"]
    phone = next(field for field in definition["fields"] if field["name"] == "contact.phone")
    assert phone["required"] is True
    no_photos = domain.form_definition(public_key="k", name="n", config={"max_photos": 0}, max_photo_bytes=1)
    assert "photos" not in [field["name"] for field in no_photos["fields"]]
    assert no_photos["title"] == "n"


def test_contact_rules() -> None:
    nobody = domain.Contact(None, None, None)
    domain.check_contact(nobody, "none")
    with pytest.raises(ValidationFailed):
        domain.check_contact(nobody, "phone")
    with pytest.raises(ValidationFailed):
        domain.check_contact(domain.Contact("王", None, "a@b.cn"), "phone")
    domain.check_contact(domain.Contact(None, None, "a@b.cn"), "phone_or_email")
    with pytest.raises(ValidationFailed):
        domain.check_contact(domain.Contact("王", None, None), "phone_or_email")
