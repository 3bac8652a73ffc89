"""Agents and materials pages in Chromium against the real server and agent: select an
agent, give it a resource from the Resources drop-down and take it away again (the row
changes live), filter, and the materials page shows the polled repository. Axe finds nothing
serious with the drop-down open; at 390 px nothing overflows."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server
from tests.browser.support import axe_violations, overflow, screenshot

pytestmark = pytest.mark.browser


def test_agents_resources_dropdown_and_filter(page: Page, mobile: Page, server: Server) -> None:
    if server.agent is None or server.agent.poll() is not None:
        pytest.skip("needs `pygocd agent`")
    page.goto(server.url("/go/agents"))
    page.wait_for_function("document.documentElement.dataset.live === 'open'")
    row = page.locator("tr[data-uuid]", has_text="browser-agent")
    expect(row).to_be_visible(timeout=20_000)
    resources = page.get_by_role("button", name="Resources")
    expect(resources).to_be_disabled()

    row.get_by_role("checkbox").check()
    expect(resources).to_be_enabled()
    resources.click()
    expect(resources).to_have_attribute("aria-expanded", "true")
    assert axe_violations(page) == []
    screenshot(page, "agents-resources-desktop")
    page.get_by_label("New resource").fill("chrome")
    page.keyboard.press("Enter")
    expect(page.locator("#flash")).to_contain_text("Resources modified on 1 agent(s)")
    expect(row).to_contain_text("chrome")  # pushed over SSE
    expect(row.get_by_role("checkbox")).to_be_checked()  # the selection survives the swap

    resources.click()
    box = page.locator("#agents-resource-choices").get_by_label("chrome")
    expect(box).to_be_checked()
    box.uncheck()
    page.locator("#agents-resource-panel").get_by_role("button", name="Apply").click()
    expect(row).not_to_contain_text("chrome")

    page.get_by_role("searchbox", name="Filter Agents").fill("no-such-agent")
    expect(row).to_be_hidden()
    page.get_by_role("searchbox", name="Filter Agents").fill("")
    expect(row).to_be_visible()

    mobile.goto(server.url("/go/agents"))
    assert overflow(mobile) == 0


def test_materials_show_the_polled_repository(page: Page, server: Server) -> None:
    page.goto(server.url("/go/materials"))
    panel = page.locator("details.material").first
    expect(panel).to_be_visible()
    expect(page.locator("#materials-list")).to_contain_text(
        re.compile("Make the build faster|never parsed")
    )
    panel.locator("summary").click()
    expect(panel.get_by_text("Last polled")).to_be_visible()
    assert axe_violations(page) == []
