import { test, expect, Page } from "@playwright/test";
import { waitForMail, linkIn, hydrated } from "./support";

test("an operator signs up, confirms the mailed link, logs in and logs out", async ({ page }) => {
  const email = `ann-${Date.now()}@example.com`;
  const password = "correct horse battery";

  await page.goto("/");
  await page.getByRole("link", { name: "Create an operator account" }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await hydrated(page);

  // A mistake first: the message appears next to the field, without leaving the page.
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator('[data-error-for="password_repeat"]')).toHaveText("The two passwords differ.");
  await expect(page).toHaveURL(/\/signup$/);

  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signup-done")).toContainText("Check your mail");

  const mail = await waitForMail(email, "Confirm your pointmint account");
  expect(mail).toContain("Content-Type: text/html");
  const link = linkIn(mail, "/verify-email?token=");
  await page.goto(link);
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
  await expect(page).toHaveURL(/\/login\?verified=1$/);
  await expect(page.getByRole("status")).toContainText("Your e-mail address is confirmed");

  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill("not my password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toHaveText("E-mail address or password is wrong.");

  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  await expect(page.getByTestId("no-stores")).toBeVisible();

  await hydrated(page);
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/\?logged_out=1$/);
  // The session is gone: the dashboard sends us to the log-in page.
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/login\?next=\/dashboard$/);
});

test("forms work before the wasm loads", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("E-mail address").fill("nobody@example.com");
  await page.getByLabel("Password").fill("whatever whatever");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/login\?error=wrong_credentials$/);
  await expect(page.getByRole("alert")).toHaveText("E-mail address or password is wrong.");
  await context.close();
});
