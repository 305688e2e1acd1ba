"""Files of a knowledge-base article in a real browser: an admin attaches a file in the article editor
and publishes the article to the help centre; another agent downloads it from the article, and a
customer downloads it from the H5 help centre — without console errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.attachments.samples import pdf
from tests.e2e.conftest import PageFactory, Seeder, log_in
from tests.factories import make_member, make_tenant

pytestmark = pytest.mark.e2e


def test_an_article_file_is_uploaded_and_downloaded_by_agents_and_customers(
    seeder: Seeder, open_page: PageFactory
) -> None:
    tenant = seeder.run(make_tenant(seeder.runtime))
    admin = seeder.run(make_member(seeder.runtime, tenant, "admin", name="知识管理员"))
    agent = seeder.run(make_member(seeder.runtime, tenant, "agent", name="客服小周"))

    page = open_page()
    log_in(page, admin)
    page.goto("/kb/articles/new")
    page.get_by_test_id("kb-title").fill("热水器安装说明书")
    page.get_by_test_id("kb-body").fill("<p>安装前请阅读附件中的说明书。</p>")
    page.get_by_test_id("kb-file-input").set_input_files(
        {"name": "安装说明书.pdf", "mimeType": "application/pdf", "buffer": pdf()}
    )
    expect(page.get_by_test_id("kb-file")).to_contain_text("安装说明书.pdf")
    page.get_by_test_id("kb-visibility-public").click()
    page.get_by_test_id("kb-status-published").click()
    page.get_by_test_id("kb-save").click()
    expect(page).to_have_url(re.compile(r"/kb/articles/[0-9a-f-]+$"))
    article_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_test_id("kb-file")).to_have_attribute(
        "href", re.compile(rf"/api/v1/kb/articles/{article_id}/attachments/[0-9a-f-]+$")
    )

    colleague = open_page()
    log_in(colleague, agent)
    colleague.goto(f"/kb/articles/{article_id}")
    link = colleague.get_by_test_id("kb-file")
    expect(link).to_contain_text("安装说明书.pdf")
    download = colleague.request.get(str(link.get_attribute("href")))
    assert download.status == 200 and download.body() == pdf()

    customer = open_page()
    customer.goto(f"/h5/help/{tenant.slug}/a/{article_id}")
    expect(customer.get_by_test_id("help-article")).to_contain_text("安装前请阅读")
    file = customer.get_by_test_id("help-file")
    expect(file).to_contain_text("安装说明书.pdf")
    href = file.get_attribute("href")
    assert (
        href is not None and f"/api/v1/public/help/{tenant.slug}/articles/{article_id}/attachments/" in href
    )
    public = customer.request.get(href)
    assert public.status == 200 and public.body() == pdf()
