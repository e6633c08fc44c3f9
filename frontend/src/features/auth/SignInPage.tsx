import { useState, type FormEvent } from "react";
import { Button, ErrorMessage, TextField } from "@/components/ui";
import { useSignIn } from "./api";

export function SignInPage() {
  const signIn = useSignIn();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");

  function submit(event: FormEvent) {
    event.preventDefault();
    signIn.mutate({ username, password });
  }

  return (
    <main className="sign-in" id="main">
      <form className="card sign-in__card" onSubmit={submit} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">Product Importer</h1>
        <p className="muted">Sign in to import, browse and manage the catalog.</p>
        <TextField
          label="Username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          required
          autoFocus
          value={username}
          onChange={(event) => setUsername(event.target.value)}
        />
        <TextField
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        <ErrorMessage error={signIn.error} />
        <Button type="submit" variant="primary" busy={signIn.isPending}>
          Sign in
        </Button>
        <p className="muted small">
          <code>make run</code> prints the admin's login; <code>make admin-password</code> sets a
          new one.
        </p>
      </form>
    </main>
  );
}
