import { test, expect } from "@playwright/test";

test("badge page previews a stream's badge and gives snippets", async ({ page }, info) => {
  await page.goto("/badges");
  await expect(page.getByRole("heading", { name: "Badges for your README" })).toBeVisible();
  const preview = page.locator("#badge-preview");
  await expect(preview).toHaveAttribute("src", /^\/badges\/[^/]+\.svg$/);
  // the badge image really loads and has a size
  await expect
    .poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
    .toBeGreaterThan(50);

  await page.getByLabel("Stream").selectOption("4-scos-stable");
  await page.getByLabel("Style").selectOption("for-the-badge");
  if (info.project.name === "no-js") {
    await page.getByRole("button", { name: "Update" }).click();
    await expect(page).toHaveURL(/stream=4-scos-stable/);
  }
  await expect(preview).toHaveAttribute("src", "/badges/4-scos-stable.svg?style=for-the-badge");
  await expect
    .poll(() => preview.evaluate((img: HTMLImageElement) => img.complete && img.naturalHeight))
    .toBe(28);
  const markdown = page.locator("#snippet-markdown");
  await expect(markdown).toHaveValue(
    /^\[!\[OKD\/SCOS 4-scos-stable\]\(http:\/\/127\.0\.0\.1:\d+\/badges\/4-scos-stable\.svg\?style=for-the-badge\)\]\(http:\/\/127\.0\.0\.1:\d+\/streams\/4-scos-stable\)$/,
  );
  await page.screenshot({ path: `test-results/screens/${info.project.name}-badges.png`, fullPage: true });
});

test("copying the Markdown snippet", async ({ page, context }, info) => {
  test.skip(info.project.name === "no-js", "needs JavaScript");
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.goto("/badges?stream=4.21.0-0.okd-scos");
  const button = page.getByRole("button", { name: "Copy Markdown" });
  await expect(async () => {
    await button.click();
    await expect(button).toHaveText("Copied", { timeout: 500 });
  }).toPass({ timeout: 15_000 });
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toContain("/badges/4.21.0-0.okd-scos.svg");
  // live preview: a new label shows without reloading
  await page.getByLabel("Label").fill("okd ci");
  await expect(page.locator("#badge-preview")).toHaveAttribute("src", "/badges/4.21.0-0.okd-scos.svg?label=okd%20ci");
});
