import { defineConfig } from "vitest/config";

// Tauri loads the built files from ui/dist (custom protocol) or the dev server on 5173.
export default defineConfig({
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.ts"] },
});
