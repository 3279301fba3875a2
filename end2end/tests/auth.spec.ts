import { test, expect } from "@playwright/test";

// The demo server (`serve --demo`) has the accounts admin/admin-demo and
// maintainer/maintainer-demo. Every step is a plain form post, so the same test runs
// hydrated and with JavaScript off.
test("the demo maintainer signs in, makes an API token shown once, revokes it and signs out", async ({
  page,
  request,
}) => {
  const project = test.info().project.name;
  await page.goto("/");
  await page.getByRole("link", { name: "Sign in", exact: true }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await page.getByLabel("User name").fill("maintainer");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("wrong user name or password");

  await page.getByLabel("User name").fill("maintainer");
  await page.getByLabel("Password").fill("maintainer-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/$/);
  const me = page.locator("header.top").getByRole("link", { name: "maintainer", exact: true });
  await expect(me).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();

  await me.click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await expect(page.locator("dd.account-name")).toHaveText("maintainer");

  const label = `e2e ${project} ${Date.now()}`;
  await page.getByLabel("Token name").fill(label);
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page).toHaveURL(/\/account$/);
  const token = ((await page.locator("#new-token").textContent()) ?? "").trim();
  expect(token).toMatch(/^sg_[A-Za-z0-9_-]{43}$/);

  // the token works on its own, without the browser's cookie
  const asToken = await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(asToken.status()).toBe(200);
  expect((await asToken.json()).name).toBe("maintainer");

  // shown once: a reload lists it by name and prefix only
  await page.reload();
  await expect(page.locator("#new-token")).toHaveCount(0);
  const row = page.locator("table.tokens tbody tr").filter({ hasText: label });
  await expect(row).toContainText(token.slice(0, 10));
  await expect(page.getByText(token)).toHaveCount(0);

  await row.getByRole("button", { name: `Revoke ${label}` }).click();
  await expect(page.getByRole("status")).toHaveText("token revoked");
  await expect(page.locator("table.tokens tbody tr").filter({ hasText: label })).toContainText("revoked");
  const revoked = await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${token}` } });
  expect(revoked.status()).toBe(401);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
  const response = await page.goto("/account");
  expect(response?.status()).toBe(401);
  await expect(page.getByRole("heading", { name: "Sign in first" })).toBeVisible();
});

test("a maintainer may not manage users", async ({ page }) => {
  await page.goto("/sign-in?next=/admin/users");
  await page.getByLabel("User name").fill("maintainer");
  await page.getByLabel("Password").fill("maintainer-demo");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByText("only admins manage users")).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in", exact: true })).toBeVisible();
});
