/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the dashboard with hot reload on :5173 and passes the API through to the
// Django server of `make run` (DJANGO_URL to point elsewhere), so sessions and CSRF work as in
// production: one origin as far as the browser can tell.
const djangoUrl = process.env.DJANGO_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { "@": new URL("./src", import.meta.url).pathname },
  },
  server: {
    port: 5173,
    strictPort: true,
    proxy: {
      "/api": { target: djangoUrl, changeOrigin: false },
      "/healthz": { target: djangoUrl },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    restoreMocks: true,
  },
});
