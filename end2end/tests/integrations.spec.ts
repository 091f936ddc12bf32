import { test, expect } from "@playwright/test";
import { createServer, IncomingMessage } from "node:http";
import { AddressInfo } from "node:net";
import { hydrated, signUpAndLogIn } from "./support";

type Received = { id: string; body: string };

/** A webhook receiver on 127.0.0.1 that answers 200 and remembers what it got. */
async function startReceiver() {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({ id: String(req.headers["webhook-id"] ?? ""), body });
      res.writeHead(200, { "content-type": "text/plain" }).end("received by the test");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => server.close() };
}

test("an operator creates an API key (shown once) and revokes it, creates a webhook endpoint, and sends a test event that shows in the delivery log", async ({ page, request }, testInfo) => {
  test.setTimeout(120_000);
  const receiver = await startReceiver();
  try {
    const stamp = Date.now();
    await signUpAndLogIn(page, `integrations-${stamp}@example.com`, "correct horse battery");

    await page.getByLabel("Name").fill(`Integrations Shop ${stamp}`);
    await page.getByRole("button", { name: "Create store" }).click();
    const row = page.locator("tr", { hasText: `Integrations Shop ${stamp}` });
    await expect(row).toBeVisible();

    // An API key: shown once, works against the REST API, afterwards only its prefix.
    await row.getByRole("link", { name: "API keys" }).click();
    await expect(page).toHaveURL(/\/dashboard\/stores\/\d+\/api-keys$/);
    await expect(page.getByTestId("no-api-keys")).toBeVisible();
    await hydrated(page);
    await page.getByLabel("Name").fill("Shop back end");
    await page.getByLabel("points:read").check();
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByTestId("new-api-key-value");
    await expect(shown).toHaveText(/^pm_live_[A-Za-z0-9]{32}$/);
    const key = (await shown.textContent())!;
    await page.screenshot({ path: testInfo.outputPath("01-api-key-shown-once.png"), fullPage: true });
    const store = await request.get("/api/v1/store", { headers: { Authorization: `Bearer ${key}` } });
    expect(store.status()).toBe(200);
    await page.reload();
    await expect(page.getByTestId("api-key-prefix")).toHaveText(`${key.slice(0, 12)}…`);
    await expect(page.getByTestId("new-api-key")).toHaveCount(0);
    expect(await page.content()).not.toContain(key);

    // Revoking asks first; then the API refuses the key.
    await hydrated(page);
    await page.getByRole("link", { name: "Revoke…" }).click();
    await expect(page.getByTestId("confirm-revoke")).toBeVisible();
    await page.getByRole("button", { name: "Yes, revoke this key" }).click();
    await expect(page.getByTestId("api-key-state")).toHaveText(/^revoked /);
    await expect(page.getByTestId("confirm-revoke")).toHaveCount(0);
    const refused = await request.get("/api/v1/store", { headers: { Authorization: `Bearer ${key}` } });
    expect(refused.status()).toBe(401);

    // A webhook endpoint: the signing secret is shown once.
    await page.goto("/dashboard");
    await page.locator("tr", { hasText: `Integrations Shop ${stamp}` }).getByRole("link", { name: "Webhooks" }).click();
    await expect(page).toHaveURL(/\/dashboard\/stores\/\d+\/webhooks$/);
    await expect(page.getByTestId("no-webhooks")).toBeVisible();
    await hydrated(page);
    await page.getByLabel("URL").fill(receiver.url);
    await page.getByLabel("webhook.test").check();
    await page.getByRole("button", { name: "Add endpoint" }).click();
    await expect(page.getByTestId("new-webhook-secret-value")).toHaveText(/^whsec_[A-Za-z0-9+/]{32}$/);

    // Its delivery log: "send test event" reaches the receiver and shows as a row.
    await page.getByRole("link", { name: receiver.url }).click();
    await expect(page.getByTestId("endpoint-url")).toHaveText(receiver.url);
    await expect(page.getByTestId("no-deliveries")).toBeVisible();
    await hydrated(page);
    await page.getByRole("button", { name: "Send test event" }).click();
    await expect(page.locator("tr[data-delivery]")).toHaveCount(1);
    await expect.poll(() => receiver.received.length, { timeout: 30_000 }).toBe(1);
    expect(JSON.parse(receiver.received[0].body).type).toBe("webhook.test");
    await expect(async () => {
      await page.reload();
      await expect(page.locator("tr[data-delivery]").first()).toHaveAttribute("data-status", "succeeded", { timeout: 1_000 });
    }).toPass({ timeout: 30_000 });
    const delivery = page.locator("tr[data-delivery]").first();
    await expect(delivery.getByTestId("webhook-id")).toHaveText(receiver.received[0].id);
    await expect(delivery.getByTestId("response-code")).toHaveText("200");
    await expect(delivery).toContainText("received by the test");
    await page.screenshot({ path: testInfo.outputPath("02-delivery-log.png"), fullPage: true });
    await testInfo.attach("delivery-log", { path: testInfo.outputPath("02-delivery-log.png"), contentType: "image/png" });
  } finally {
    receiver.close();
  }
});
