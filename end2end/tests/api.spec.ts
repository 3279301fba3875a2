import { test, expect } from "@playwright/test";

test("API docs, OpenAPI document and Atom feed are served by the demo", async ({ page, request }) => {
  const openapi = await request.get("/api/v1/openapi.json");
  expect(openapi.status()).toBe(200);
  const doc = await openapi.json();
  expect(Object.keys(doc.paths)).toContain("/api/v1/streams/{stream}/releases");

  const streams = await request.get("/api/v1/streams");
  expect(streams.headers()["access-control-allow-origin"]).toBe("*");
  const names = (await streams.json()).streams.map((s: { name: string }) => s.name);
  expect(names).toContain("4.21.0-0.okd-scos");

  const feed = await request.get("/streams/4.21.0-0.okd-scos/feed.atom");
  expect(feed.status()).toBe(200);
  expect(feed.headers()["content-type"]).toContain("application/atom+xml");
  const xml = await feed.text();
  expect(xml).toContain("<feed");
  expect((xml.match(/<entry>/g) ?? []).length).toBeGreaterThan(5);

  await page.goto("/api/v1/docs");
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page.getByText("/api/v1/streams/{stream}/releases").first()).toBeVisible();
});
