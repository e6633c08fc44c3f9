import { useState } from "react";
import { Button } from "./Button";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** Copies `text`; says whether it worked (a page over plain HTTP may not reach the clipboard). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  return (
    <>
      <Button
        size="small"
        onClick={async () => setState((await copyText(text)) ? "copied" : "failed")}
      >
        {label}
      </Button>
      <span className="copy-status" role="status">
        {state === "copied" ? "Copied." : state === "failed" ? "Select the text and copy it." : ""}
      </span>
    </>
  );
}
