import { afterEach, describe, expect, it, vi } from "vitest";
import { FakeXhr } from "@/test/xhr";
import { uploadFile } from "./upload";

describe("uploadFile", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("reports the bytes sent and resolves with the job", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    document.cookie = "csrftoken=tok";
    const file = new File(["sku,name\n1,a\n"], "products.csv", { type: "text/csv" });
    const progress = vi.fn();
    const handle = uploadFile<{ id: string }>("/api/products/upload/", file, progress);
    const xhr = FakeXhr.last;
    expect([xhr.method, xhr.url]).toEqual(["POST", "/api/products/upload/"]);
    expect(xhr.headers["X-CSRFToken"]).toBe("tok");
    expect((xhr.sent?.get("file") as File).name).toBe("products.csv");
    xhr.progress(5, 13);
    xhr.progress(13, 13);
    expect(progress.mock.calls).toEqual([[{ loaded: 5, total: 13 }], [{ loaded: 13, total: 13 }]]);
    xhr.respond(202, { id: "job-1" });
    await expect(handle.promise).resolves.toEqual({ id: "job-1" });
  });

  it("sends the other fields with the file", () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const file = new File(["sku,name\n"], "products.csv");
    uploadFile("/api/products/upload/", file, vi.fn(), { fields: { dry_run: "true" } });
    const sent = FakeXhr.last.sent!;
    expect([...sent.keys()]).toEqual(["dry_run", "file"]);
    expect(sent.get("dry_run")).toBe("true");
  });

  it("rejects with the API's words", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const handle = uploadFile("/api/products/upload/", new File(["x"], "a.csv"), vi.fn());
    FakeXhr.last.respond(400, { file: ["The file is empty."] });
    await expect(handle.promise).rejects.toMatchObject({
      status: 400,
      message: "The file is empty.",
    });
  });

  it("says when the connection fails", async () => {
    vi.stubGlobal("XMLHttpRequest", FakeXhr);
    const handle = uploadFile("/api/products/upload/", new File(["x"], "a.csv"), vi.fn());
    FakeXhr.last.onerror?.();
    await expect(handle.promise).rejects.toMatchObject({ status: 0 });
  });
});
