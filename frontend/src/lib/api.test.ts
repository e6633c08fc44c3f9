import { describe, expect, it, vi } from "vitest";
import { mockFetch } from "@/test/utils";
import { ApiError, NETWORK_ERROR_MESSAGE, apiFetch, errorFromResponse, queryString } from "./api";

describe("errorFromResponse", () => {
  it("uses the API's detail", () => {
    const error = errorFromResponse(409, { detail: "Only a failed import can be retried." });
    expect(error.message).toBe("Only a failed import can be retried.");
    expect(error.status).toBe(409);
  });

  it("keeps a field map for the form and says its first message", () => {
    const error = errorFromResponse(400, { sku: ["A product with SKU 'x' already exists."] });
    expect(error.fieldErrors).toEqual({ sku: ["A product with SKU 'x' already exists."] });
    expect(error.message).toBe("A product with SKU 'x' already exists.");
  });

  it("prefers non-field errors for the message", () => {
    const error = errorFromResponse(400, {
      name: ["Too long."],
      non_field_errors: ["Nothing to change."],
    });
    expect(error.message).toBe("Nothing to change.");
  });

  it("says a status in words when the body is not JSON", () => {
    expect(errorFromResponse(502, null).message).toMatch(/not answering/);
    expect(errorFromResponse(418, null).message).toBe("The server answered with an error (418).");
  });
});

describe("apiFetch", () => {
  it("sends the CSRF token on writes, not on reads", async () => {
    document.cookie = "csrftoken=abc123";
    const calls = mockFetch(() => ({ body: { ok: true } }));
    await apiFetch("/api/things/");
    await apiFetch("/api/things/", { method: "POST", body: { a: 1 } });
    expect(calls[0]?.headers["X-CSRFToken"]).toBeUndefined();
    expect(calls[1]?.headers["X-CSRFToken"]).toBe("abc123");
    expect(calls[1]?.headers["Content-Type"]).toBe("application/json");
    expect(calls[1]?.body).toEqual({ a: 1 });
  });

  it("turns a network failure into words", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    const error = await apiFetch("/api/things/").catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(NETWORK_ERROR_MESSAGE);
    expect((error as ApiError).status).toBe(0);
  });

  it("rejects with the API's error", async () => {
    mockFetch(() => ({ status: 404, body: { detail: "Not found." } }));
    await expect(apiFetch("/api/things/9/")).rejects.toMatchObject({
      status: 404,
      message: "Not found.",
    });
  });
});

describe("queryString", () => {
  it("leaves out empty values", () => {
    expect(queryString({ a: "x y", b: "", c: undefined, d: 2 })).toBe("?a=x+y&d=2");
    expect(queryString({ a: "" })).toBe("");
  });
});
