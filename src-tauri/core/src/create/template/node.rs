//! The Node.js starters: React, Vue and Svelte on Vite, Next.js, Angular, Express. Each file is
//! written only when its option is on (no ESLint, Prettier or Tailwind files when off).

use std::collections::BTreeMap;

use super::{Framework, NewProject, PackageManager};

type Files = Vec<(String, String)>;

const VITE: &str = "6.3.5";
const TS: &str = "5.8.3";
const REACT: &str = "19.1.0";
const TYPES_REACT: &str = "19.1.2";
const TAILWIND: &str = "4.1.4";
const ESLINT: &str = "9.25.1";
const ANGULAR: &str = "19.2.8";
const ANGULAR_CLI: &str = "19.2.9";

struct Pkg {
    scripts: Vec<(&'static str, String)>,
    deps: BTreeMap<String, String>,
    dev: BTreeMap<String, String>,
}

impl Pkg {
    fn new() -> Self {
        Self { scripts: vec![], deps: BTreeMap::new(), dev: BTreeMap::new() }
    }
    fn script(&mut self, name: &'static str, cmd: &str) {
        self.scripts.push((name, cmd.to_string()));
    }
    fn dep(&mut self, name: &str, v: &str) {
        self.deps.insert(name.into(), v.into());
    }
    fn dev(&mut self, name: &str, v: &str) {
        self.dev.insert(name.into(), v.into());
    }
    fn render(&self, name: &str, module: bool) -> String {
        let map = |m: &BTreeMap<String, String>| serde_json::to_string_pretty(m).unwrap().replace("\n", "\n  ");
        let scripts: serde_json::Map<String, serde_json::Value> =
            self.scripts.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
        let scripts = serde_json::to_string_pretty(&scripts).unwrap().replace("\n", "\n  ");
        let kind = if module { "\n  \"type\": \"module\"," } else { "" };
        let mut out = format!(
            "{{\n  \"name\": \"{}\",\n  \"private\": true,\n  \"version\": \"0.1.0\",{kind}\n  \"scripts\": {scripts}",
            name.to_lowercase()
        );
        if !self.deps.is_empty() {
            out += &format!(",\n  \"dependencies\": {}", map(&self.deps));
        }
        if !self.dev.is_empty() {
            out += &format!(",\n  \"devDependencies\": {}", map(&self.dev));
        }
        out + "\n}\n"
    }
}

pub fn files(p: &NewProject, extra: &[(String, String)]) -> Files {
    let mut pkg = Pkg::new();
    let mut files: Files = vec![(".gitignore".into(), "node_modules\ndist\n.next\n.angular\n*.log\n.env*\n".into())];
    let ts = p.typescript || matches!(p.framework, Framework::Next | Framework::Angular);
    match p.framework {
        Framework::React => react(p, ts, &mut pkg, &mut files),
        Framework::Vue => vue(p, ts, &mut pkg, &mut files),
        Framework::Svelte => svelte(p, ts, &mut pkg, &mut files),
        Framework::Next => next(p, &mut pkg, &mut files),
        Framework::Angular => angular(p, &mut pkg, &mut files),
        _ => express(p, ts, &mut pkg, &mut files),
    }
    if p.prettier {
        pkg.script("format", "prettier --write .");
        pkg.dev("prettier", "3.5.3");
        files.push((".prettierrc.json".into(), "{\n  \"singleQuote\": false,\n  \"printWidth\": 100\n}\n".into()));
        files.push((".prettierignore".into(), "node_modules\ndist\n.next\n.angular\n".into()));
    }
    for (name, version) in extra {
        pkg.dep(name, version);
    }
    let module = !matches!(p.framework, Framework::Angular | Framework::Next);
    files.push(("package.json".into(), pkg.render(&p.name, module)));
    if p.package_manager != PackageManager::Npm {
        let pm = p.package_manager.as_str();
        let run = format!(
            "{{\n  \"install\": \"{pm} install\",\n  \"dev\": \"{pm} run {}\",\n  \"port\": {},\n  \"manifests\": [\"package.json\"]\n}}\n",
            if p.framework == Framework::Angular { "start" } else { "dev" },
            super::frameworks().iter().find(|f| f.framework == p.framework).map_or(3000, |f| f.port)
        );
        files.push((".aura/run.json".into(), run));
    }
    files.sort();
    files
}

fn title(p: &NewProject) -> String {
    p.name.clone()
}

/// What every Vite starter has: Vite, its config with the framework's plugin (`import`, `call`)
/// and Tailwind's when on, and `index.html` mounting `entry` on `#mount`.
struct ViteApp<'a> {
    config_ext: &'a str,
    plugin_import: &'a str,
    plugin_call: &'a str,
    mount: &'a str,
    entry: &'a str,
}

fn vite_app(p: &NewProject, pkg: &mut Pkg, files: &mut Files, app: ViteApp) {
    pkg.script("dev", "vite");
    pkg.dev("vite", VITE);
    let (tw_import, tw) = if p.tailwind {
        pkg.dev("tailwindcss", TAILWIND);
        pkg.dev("@tailwindcss/vite", TAILWIND);
        ("import tailwindcss from \"@tailwindcss/vite\";\n", ", tailwindcss()")
    } else {
        ("", "")
    };
    let ViteApp { config_ext, plugin_import, plugin_call, mount, entry } = app;
    files.push((
        format!("vite.config.{config_ext}"),
        format!("import {{ defineConfig }} from \"vite\";\n{plugin_import}\n{tw_import}\nexport default defineConfig({{\n  plugins: [{plugin_call}{tw}],\n}});\n"),
    ));
    files.push(("index.html".into(), index_html(p, mount, entry)));
}

fn css(p: &NewProject) -> String {
    if p.tailwind {
        "@import \"tailwindcss\";\n".into()
    } else {
        "body {\n  font-family: system-ui, sans-serif;\n  margin: 2rem;\n}\n".into()
    }
}

fn vite_tsconfig(include: &str) -> String {
    format!(
        r#"{{
  "compilerOptions": {{
    "target": "ES2022",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "jsx": "react-jsx",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true,
    "isolatedModules": true,
    "types": ["vite/client"]
  }},
  "include": [{include}]
}}
"#
    )
}

fn index_html(p: &NewProject, mount: &str, entry: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"UTF-8\" />\n    <meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\" />\n    <title>{}</title>\n  </head>\n  <body>\n    <div id=\"{mount}\"></div>\n    <script type=\"module\" src=\"/src/{entry}\"></script>\n  </body>\n</html>\n",
        title(p)
    )
}

fn eslint(ts: bool, globals: &str, react: bool, pkg: &mut Pkg) -> String {
    pkg.script("lint", "eslint .");
    pkg.dev("eslint", ESLINT);
    pkg.dev("@eslint/js", ESLINT);
    pkg.dev("globals", "16.0.0");
    let files = match (ts, react) {
        (true, true) => "**/*.{ts,tsx}",
        (false, true) => "**/*.{js,jsx}",
        (true, false) => "**/*.ts",
        (false, false) => "**/*.js",
    };
    // Plain ESLint does not see JSX use a component: capitalised names count as used (as
    // create-vite's JavaScript template does); typescript-eslint sees JSX itself.
    let jsx_vars = if ts { "" } else { ", \"no-unused-vars\": [\"error\", { varsIgnorePattern: \"^[A-Z_]\" }]" };
    let (hooks_import, hooks) = if react {
        pkg.dev("eslint-plugin-react-hooks", "5.2.0");
        (
            "import reactHooks from \"eslint-plugin-react-hooks\";\n",
            format!("\n    plugins: {{ \"react-hooks\": reactHooks }},\n    rules: {{ ...reactHooks.configs.recommended.rules{jsx_vars} }},"),
        )
    } else {
        ("", String::new())
    };
    if ts {
        pkg.dev("typescript-eslint", "8.31.1");
        format!(
            "import js from \"@eslint/js\";\nimport globals from \"globals\";\n{hooks_import}import tseslint from \"typescript-eslint\";\n\nexport default tseslint.config(\n  {{ ignores: [\"dist\"] }},\n  {{\n    files: [\"{files}\"],\n    extends: [js.configs.recommended, ...tseslint.configs.recommended],\n    languageOptions: {{ globals: globals.{globals} }},{hooks}\n  }},\n);\n"
        )
    } else {
        format!(
            "import js from \"@eslint/js\";\nimport globals from \"globals\";\n{hooks_import}\nexport default [\n  {{ ignores: [\"dist\"] }},\n  js.configs.recommended,\n  {{\n    files: [\"{files}\"],\n    languageOptions: {{ globals: globals.{globals}, parserOptions: {{ ecmaFeatures: {{ jsx: true }} }} }},{hooks}\n  }},\n];\n"
        )
    }
}

fn react(p: &NewProject, ts: bool, pkg: &mut Pkg, files: &mut Files) {
    let (x, xx) = if ts { ("ts", "tsx") } else { ("js", "jsx") };
    let entry = format!("main.{xx}");
    let plugin = "import react from \"@vitejs/plugin-react\";";
    vite_app(
        p,
        pkg,
        files,
        ViteApp { config_ext: x, plugin_import: plugin, plugin_call: "react()", mount: "root", entry: &entry },
    );
    pkg.script("build", if ts { "tsc --noEmit && vite build" } else { "vite build" });
    pkg.script("preview", "vite preview");
    pkg.dep("react", REACT);
    pkg.dep("react-dom", REACT);
    pkg.dev("@vitejs/plugin-react", "4.4.1");
    if ts {
        pkg.dev("typescript", TS);
        pkg.dev("@types/react", TYPES_REACT);
        pkg.dev("@types/react-dom", TYPES_REACT);
        files.push(("tsconfig.json".into(), vite_tsconfig("\"src\", \"vite.config.ts\"")));
    }
    let bang = if ts { "!" } else { "" };
    files.push((
        format!("src/main.{xx}"),
        format!("import {{ StrictMode }} from \"react\";\nimport {{ createRoot }} from \"react-dom/client\";\nimport \"./index.css\";\nimport App from \"./App\";\n\ncreateRoot(document.getElementById(\"root\"){bang}).render(\n  <StrictMode>\n    <App />\n  </StrictMode>,\n);\n"),
    ));
    let class = if p.tailwind { " className=\"text-3xl font-bold\"" } else { "" };
    files.push((
        format!("src/App.{xx}"),
        format!("import {{ useState }} from \"react\";\n\nexport default function App() {{\n  const [count, setCount] = useState(0);\n  return (\n    <main>\n      <h1 id=\"title\"{class}>{}</h1>\n      <button onClick={{() => setCount((c) => c + 1)}}>count is {{count}}</button>\n    </main>\n  );\n}}\n", title(p)),
    ));
    files.push(("src/index.css".into(), css(p)));
    if p.eslint {
        files.push(("eslint.config.js".into(), eslint(ts, "browser", true, pkg)));
    }
}

fn vue(p: &NewProject, ts: bool, pkg: &mut Pkg, files: &mut Files) {
    let x = if ts { "ts" } else { "js" };
    let entry = format!("main.{x}");
    let plugin = "import vue from \"@vitejs/plugin-vue\";";
    vite_app(
        p,
        pkg,
        files,
        ViteApp { config_ext: x, plugin_import: plugin, plugin_call: "vue()", mount: "app", entry: &entry },
    );
    pkg.script("build", if ts { "vue-tsc --noEmit && vite build" } else { "vite build" });
    pkg.dep("vue", "3.5.13");
    pkg.dev("@vitejs/plugin-vue", "5.2.3");
    if ts {
        pkg.dev("typescript", TS);
        pkg.dev("vue-tsc", "2.2.8");
        files.push(("tsconfig.json".into(), vite_tsconfig("\"src/**/*.ts\", \"src/**/*.vue\", \"vite.config.ts\"")));
        files.push((
            "src/env.d.ts".into(),
            "declare module \"*.vue\" {\n  import type { DefineComponent } from \"vue\";\n  const component: DefineComponent;\n  export default component;\n}\n".into(),
        ));
    }
    files.push((
        format!("src/main.{x}"),
        "import { createApp } from \"vue\";\nimport \"./style.css\";\nimport App from \"./App.vue\";\n\ncreateApp(App).mount(\"#app\");\n".into(),
    ));
    let lang = if ts { " lang=\"ts\"" } else { "" };
    let class = if p.tailwind { " class=\"text-3xl font-bold\"" } else { "" };
    files.push((
        "src/App.vue".into(),
        format!("<script setup{lang}>\nimport {{ ref }} from \"vue\";\n\nconst count = ref(0);\n</script>\n\n<template>\n  <main>\n    <h1 id=\"title\"{class}>{}</h1>\n    <button @click=\"count++\">count is {{{{ count }}}}</button>\n  </main>\n</template>\n", title(p)),
    ));
    files.push(("src/style.css".into(), css(p)));
}

fn svelte(p: &NewProject, ts: bool, pkg: &mut Pkg, files: &mut Files) {
    let x = if ts { "ts" } else { "js" };
    let entry = format!("main.{x}");
    let plugin = "import { svelte } from \"@sveltejs/vite-plugin-svelte\";";
    vite_app(
        p,
        pkg,
        files,
        ViteApp { config_ext: x, plugin_import: plugin, plugin_call: "svelte()", mount: "app", entry: &entry },
    );
    pkg.script("build", "vite build");
    pkg.dev("svelte", "5.28.2");
    pkg.dev("@sveltejs/vite-plugin-svelte", "5.0.3");
    if ts {
        pkg.script("check", "svelte-check --tsconfig ./tsconfig.json");
        pkg.dev("typescript", TS);
        pkg.dev("svelte-check", "4.1.6");
        pkg.dev("@tsconfig/svelte", "5.0.4");
        files.push((
            "tsconfig.json".into(),
            "{\n  \"extends\": \"@tsconfig/svelte/tsconfig.json\",\n  \"compilerOptions\": {\n    \"target\": \"ES2022\",\n    \"module\": \"ESNext\",\n    \"strict\": true,\n    \"noEmit\": true,\n    \"skipLibCheck\": true,\n    \"types\": [\"svelte\", \"vite/client\"]\n  },\n  \"include\": [\"src/**/*.ts\", \"src/**/*.svelte\"]\n}\n".into(),
        ));
    }
    files.push((
        "svelte.config.js".into(),
        "import { vitePreprocess } from \"@sveltejs/vite-plugin-svelte\";\n\nexport default { preprocess: vitePreprocess() };\n".into(),
    ));
    let bang = if ts { "!" } else { "" };
    files.push((
        format!("src/main.{x}"),
        format!("import {{ mount }} from \"svelte\";\nimport \"./app.css\";\nimport App from \"./App.svelte\";\n\nexport default mount(App, {{ target: document.getElementById(\"app\"){bang} }});\n"),
    ));
    let lang = if ts { " lang=\"ts\"" } else { "" };
    let class = if p.tailwind { " class=\"text-3xl font-bold\"" } else { "" };
    files.push((
        "src/App.svelte".into(),
        format!("<script{lang}>\n  let count = $state(0);\n</script>\n\n<main>\n  <h1 id=\"title\"{class}>{}</h1>\n  <button onclick={{() => count++}}>count is {{count}}</button>\n</main>\n", title(p)),
    ));
    files.push(("src/app.css".into(), css(p)));
}

fn next(p: &NewProject, pkg: &mut Pkg, files: &mut Files) {
    pkg.script("dev", "next dev");
    pkg.script("build", "next build");
    pkg.script("start", "next start");
    pkg.dep("next", "15.3.1");
    pkg.dep("react", REACT);
    pkg.dep("react-dom", REACT);
    pkg.dev("typescript", TS);
    pkg.dev("@types/react", TYPES_REACT);
    pkg.dev("@types/react-dom", TYPES_REACT);
    pkg.dev("@types/node", "22.15.3");
    if p.tailwind {
        pkg.dev("tailwindcss", TAILWIND);
        pkg.dev("@tailwindcss/postcss", TAILWIND);
        files.push((
            "postcss.config.mjs".into(),
            "export default { plugins: { \"@tailwindcss/postcss\": {} } };\n".into(),
        ));
    }
    files.push(("next.config.mjs".into(), "/** @type {import('next').NextConfig} */\nexport default {};\n".into()));
    files.push((
        "next-env.d.ts".into(),
        "/// <reference types=\"next\" />\n/// <reference types=\"next/image-types/global\" />\n".into(),
    ));
    files.push((
        "tsconfig.json".into(),
        r#"{
  "compilerOptions": {
    "target": "ES2017",
    "lib": ["dom", "dom.iterable", "esnext"],
    "allowJs": true,
    "skipLibCheck": true,
    "strict": true,
    "noEmit": true,
    "esModuleInterop": true,
    "module": "esnext",
    "moduleResolution": "bundler",
    "resolveJsonModule": true,
    "isolatedModules": true,
    "jsx": "preserve",
    "incremental": true,
    "plugins": [{ "name": "next" }],
    "paths": { "@/*": ["./*"] }
  },
  "include": ["next-env.d.ts", "**/*.ts", "**/*.tsx", ".next/types/**/*.ts"],
  "exclude": ["node_modules"]
}
"#
        .into(),
    ));
    files.push((
        "app/layout.tsx".into(),
        format!("import \"./globals.css\";\n\nexport const metadata = {{ title: \"{}\" }};\n\nexport default function RootLayout({{ children }}: {{ children: React.ReactNode }}) {{\n  return (\n    <html lang=\"en\">\n      <body>{{children}}</body>\n    </html>\n  );\n}}\n", title(p)),
    ));
    let class = if p.tailwind { " className=\"text-3xl font-bold\"" } else { "" };
    files.push((
        "app/page.tsx".into(),
        format!("export default function Home() {{\n  return (\n    <main>\n      <h1 id=\"title\"{class}>{}</h1>\n    </main>\n  );\n}}\n", title(p)),
    ));
    files.push(("app/globals.css".into(), css(p)));
}

fn angular(p: &NewProject, pkg: &mut Pkg, files: &mut Files) {
    let name = p.name.to_lowercase();
    pkg.script("ng", "ng");
    pkg.script("start", "ng serve");
    pkg.script("build", "ng build");
    for d in ["common", "compiler", "core", "platform-browser"] {
        pkg.dep(&format!("@angular/{d}"), ANGULAR);
    }
    pkg.dep("rxjs", "7.8.2");
    pkg.dep("tslib", "2.8.1");
    pkg.dep("zone.js", "0.15.0");
    pkg.dev("@angular/build", ANGULAR_CLI);
    pkg.dev("@angular/cli", ANGULAR_CLI);
    pkg.dev("@angular/compiler-cli", ANGULAR);
    pkg.dev("typescript", TS);
    files.push((
        "angular.json".into(),
        format!(
            r#"{{
  "$schema": "./node_modules/@angular/cli/lib/config/schema.json",
  "version": 1,
  "newProjectRoot": "projects",
  "cli": {{ "analytics": false }},
  "projects": {{
    "{name}": {{
      "projectType": "application",
      "root": "",
      "sourceRoot": "src",
      "prefix": "app",
      "architect": {{
        "build": {{
          "builder": "@angular/build:application",
          "options": {{
            "outputPath": "dist/{name}",
            "index": "src/index.html",
            "browser": "src/main.ts",
            "polyfills": ["zone.js"],
            "tsConfig": "tsconfig.app.json",
            "styles": ["src/styles.css"]
          }},
          "configurations": {{
            "development": {{ "optimization": false, "extractLicenses": false, "sourceMap": true }}
          }},
          "defaultConfiguration": "development"
        }},
        "serve": {{
          "builder": "@angular/build:dev-server",
          "configurations": {{ "development": {{ "buildTarget": "{name}:build:development" }} }},
          "defaultConfiguration": "development"
        }}
      }}
    }}
  }}
}}
"#
        ),
    ));
    files.push((
        "tsconfig.json".into(),
        "{\n  \"compileOnSave\": false,\n  \"compilerOptions\": {\n    \"outDir\": \"./dist/out-tsc\",\n    \"strict\": true,\n    \"skipLibCheck\": true,\n    \"isolatedModules\": true,\n    \"experimentalDecorators\": true,\n    \"importHelpers\": true,\n    \"target\": \"ES2022\",\n    \"module\": \"ES2022\",\n    \"moduleResolution\": \"bundler\"\n  },\n  \"angularCompilerOptions\": { \"strictTemplates\": true }\n}\n".into(),
    ));
    files.push((
        "tsconfig.app.json".into(),
        "{\n  \"extends\": \"./tsconfig.json\",\n  \"compilerOptions\": { \"outDir\": \"./out-tsc/app\", \"types\": [] },\n  \"files\": [\"src/main.ts\"]\n}\n".into(),
    ));
    files.push((
        "src/index.html".into(),
        format!("<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"utf-8\" />\n    <title>{}</title>\n    <base href=\"/\" />\n  </head>\n  <body>\n    <app-root></app-root>\n  </body>\n</html>\n", title(p)),
    ));
    files.push((
        "src/main.ts".into(),
        "import { bootstrapApplication } from \"@angular/platform-browser\";\nimport { AppComponent } from \"./app/app.component\";\n\nbootstrapApplication(AppComponent).catch((err) => console.error(err));\n".into(),
    ));
    files.push((
        "src/app/app.component.ts".into(),
        format!("import {{ Component, signal }} from \"@angular/core\";\n\n@Component({{\n  selector: \"app-root\",\n  template: `<main><h1 id=\"title\">{}</h1><button (click)=\"count.set(count() + 1)\">count is {{{{ count() }}}}</button></main>`,\n}})\nexport class AppComponent {{\n  count = signal(0);\n}}\n", title(p)),
    ));
    files.push(("src/styles.css".into(), css(p)));
}

fn express(p: &NewProject, ts: bool, pkg: &mut Pkg, files: &mut Files) {
    pkg.dep("express", "4.21.2");
    let body = format!(
        "const app = express();\nconst port = Number(process.env.PORT ?? 3000);\n\napp.get(\"/\", (_req, res) => {{\n  res.send(\"<h1 id=\\\"title\\\">{}</h1>\");\n}});\n\napp.listen(port, () => console.log(`listening on http://localhost:${{port}}`));\n",
        title(p)
    );
    if ts {
        pkg.script("dev", "tsx watch src/index.ts");
        pkg.script("build", "tsc");
        pkg.script("start", "node dist/index.js");
        pkg.dev("typescript", TS);
        pkg.dev("tsx", "4.19.3");
        pkg.dev("@types/express", "5.0.1");
        pkg.dev("@types/node", "22.15.3");
        files.push((
            "tsconfig.json".into(),
            "{\n  \"compilerOptions\": {\n    \"target\": \"ES2022\",\n    \"module\": \"NodeNext\",\n    \"moduleResolution\": \"NodeNext\",\n    \"outDir\": \"dist\",\n    \"strict\": true,\n    \"esModuleInterop\": true,\n    \"skipLibCheck\": true\n  },\n  \"include\": [\"src\"]\n}\n".into(),
        ));
        files.push(("src/index.ts".into(), format!("import express from \"express\";\n\n{body}")));
    } else {
        pkg.script("dev", "node --watch index.js");
        pkg.script("start", "node index.js");
        files.push(("index.js".into(), format!("import express from \"express\";\n\n{body}")));
    }
    if p.eslint {
        files.push(("eslint.config.js".into(), eslint(ts, "node", false, pkg)));
    }
}
