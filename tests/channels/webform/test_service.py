"""The submission service when intake refuses the message after the photos were recorded: the photo
rows and files go again, so nothing is left behind."""

from __future__ import annotations

from typing import Any

import pytest

from huiliu.attachments.storage import LocalStorage
from huiliu.channels.webform import service
from huiliu.channels.webform.schemas import SubmissionIn
from huiliu.channels.webform.upload import StagedPhoto
from huiliu.core.errors import ValidationFailed
from tests.attachments import samples
from tests.channels.helpers import counts, create_entry_point, stored_files
from tests.factories import make_member, make_tenant


async def staged(storage: LocalStorage, tenant_id: Any, content: bytes, name: str) -> StagedPhoto:
    writer = storage.writer(tenant_id, 1024 * 1024)
    await writer.write(content)
    return StagedPhoto(await writer.finish(), name, "image/png")


async def test_photos_are_removed_when_intake_refuses_the_message(client: Any, runtime: Any) -> None:
    tenant = await make_tenant(runtime)
    admin = await make_member(runtime, tenant, "admin")
    created = await create_entry_point(client, admin, "h5_form")
    # The form was opened while active; it is switched off before intake takes the message.
    entry_point = await service.open_form(runtime.db, created["public_key"])
    response = await client.patch(
        f"/api/v1/entry-points/{created['id']}", headers=admin.headers, json={"is_active": False}
    )
    assert response.status_code == 200
    storage = LocalStorage(runtime.settings.files_dir)
    photo = await staged(storage, tenant.id, samples.png(7, 7), "a.png")
    before = await counts(runtime, tenant.id)
    with pytest.raises(ValidationFailed, match="disabled"):
        await service.submit(
            runtime.db, entry_point, SubmissionIn(description="门把手坏了"), [photo], storage
        )
    storage.discard(photo.staged)
    assert await counts(runtime, tenant.id) == before
    assert stored_files(runtime, tenant.id) == []
