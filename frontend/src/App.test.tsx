import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { makeUser } from "@/test/fixtures";
import { mockFetch, renderWithProviders } from "@/test/utils";
import { App } from "./App";

const ALICE = makeUser("admin", { username: "alice" });
const EMPTY = { count: 0, count_exact: true, next: null, previous: null, results: [] };

describe("App", () => {
  it("asks to sign in, signs in, shows the user and signs out", async () => {
    let user: typeof ALICE | null = null;
    const calls = mockFetch((call) => {
      if (call.url === "/api/auth/session/") {
        if (call.method === "POST") {
          const body = call.body as { password: string };
          if (body.password !== "right") {
            return { status: 400, body: { detail: "The username or the password is not right." } };
          }
          user = ALICE;
        }
        if (call.method === "DELETE") {
          user = null;
          return { status: 204 };
        }
        return { body: { user } };
      }
      return { body: EMPTY };
    });
    renderWithProviders(<App />, { path: "/products", user: null });

    await userEvent.type(await screen.findByLabelText("Username"), "alice");
    await userEvent.type(screen.getByLabelText("Password"), "wrong");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The username or the password is not right.",
    );

    await userEvent.clear(screen.getByLabelText("Password"));
    await userEvent.type(screen.getByLabelText("Password"), "right");
    await userEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Products" })).toBeInTheDocument();
    expect(screen.getByText(/Signed in as/)).toHaveTextContent("Signed in as alice admin");
    expect(screen.getByRole("link", { name: "Products" })).toHaveAttribute("aria-current", "page");

    await userEvent.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("button", { name: "Sign in" })).toBeInTheDocument();
    expect(calls.some((call) => call.method === "DELETE")).toBe(true);
  });

  it("goes back to the sign-in page when the session has ended", async () => {
    let signedIn = true;
    mockFetch((call) => {
      if (call.url === "/api/auth/session/") return { body: { user: signedIn ? ALICE : null } };
      signedIn = false;
      return { status: 401, body: { detail: "Authentication credentials were not provided." } };
    });
    renderWithProviders(<App />, { path: "/webhooks", user: null });
    await waitFor(() =>
      expect(screen.getByRole("button", { name: "Sign in" })).toBeInTheDocument(),
    );
  });

  it("says when the server cannot be reached, with a way to try again", async () => {
    mockFetch(() => ({ status: 503, body: null }));
    renderWithProviders(<App />, { user: null });
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The dashboard cannot start: The service is unavailable right now.",
    );
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
