import { test, expect } from "@playwright/test";

test("the landing page hydrates and its calculator reacts to input", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("Loyalty points");
  // Server-rendered result before any interaction.
  await expect(page.getByTestId("points-earned")).toHaveText("499");

  // Only the wasm sets this attribute: wait for it before interacting.
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");

  await page.getByLabel("Order total").fill("120");
  await page.getByLabel("Points per currency unit").fill("2.5");
  await expect(page.getByTestId("points-earned")).toHaveText("300");
});

test("the landing page links to sign-up, log-in and the wallet", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("link", { name: "Create an operator account" })).toHaveAttribute("href", "/signup");
  await expect(page.getByRole("link", { name: "Log in" })).toHaveAttribute("href", "/login");
  await expect(page.getByRole("link", { name: "Open my points wallet" })).toHaveAttribute("href", "/wallet");
});

test("an unknown path answers 404 with a page", async ({ page }) => {
  const response = await page.goto("/no-such-page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
