import { ApiError } from "@/lib/api";

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong. Try again.";
}

/** An error in words, announced to screen readers; nothing when there is no error. */
export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  return (
    <p className="error-message" role="alert">
      {prefix ? `${prefix} ` : ""}
      {errorText(error)}
    </p>
  );
}
