// Helpers shared by the browser tests: the mail outbox and hydration.
import { expect, Page } from "@playwright/test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

// The server writes mail as .eml files here (no SMTP_URL in the browser tests).
export const outbox = () => join(process.env.POINTMINT_E2E_DATA_DIR!, "outbox");

/** Undoes quoted-printable soft line breaks and =XX escapes. */
export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** Waits for the newest mail to `to` whose subject contains `subject`; returns its decoded text. */
export async function waitForMail(to: string, subject: string): Promise<string> {
  let found = "";
  await expect
    .poll(
      () => {
        let files: string[] = [];
        try {
          files = readdirSync(outbox()).filter((f) => f.endsWith(".eml"));
        } catch {
          return false;
        }
        const mails = files
          .map((f) => join(outbox(), f))
          .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
          .map((f) => decodeQuotedPrintable(readFileSync(f, "utf8")))
          .filter((m) => m.includes(`To: ${to}`) && m.includes(subject));
        found = mails[0] ?? "";
        return found !== "";
      },
      { timeout: 15_000 },
    )
    .toBe(true);
  return found;
}

export function linkIn(mail: string, path: string): string {
  const match = mail.match(new RegExp(`https?://[^\\s"<]+${path.replace(/[?]/g, "\\?")}[0-9a-f]{64}`));
  expect(match, `a ${path} link in the mail`).not.toBeNull();
  return match![0];
}

/** Waits until the wasm has taken over the page (only then do clicks reach it). */
export async function hydrated(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/** Signs up, confirms the mailed link and logs in; ends on the dashboard, hydrated. */
export async function signUpAndLogIn(page: Page, email: string, password: string) {
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Repeat the password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("signup-done")).toContainText("Check your mail");
  const mail = await waitForMail(email, "Confirm your pointmint account");
  await page.goto(linkIn(mail, "/verify-email?token="));
  await hydrated(page);
  await page.getByRole("button", { name: "Confirm my e-mail address" }).click();
  await expect(page).toHaveURL(/\/login\?verified=1$/);
  await hydrated(page);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await hydrated(page);
}
