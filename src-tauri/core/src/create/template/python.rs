//! The Python starters: Flask and FastAPI, installed into `.venv` by ▶ Run.

use super::{Framework, NewProject};

pub fn files(p: &NewProject, extra: &[String]) -> Vec<(String, String)> {
    let title = &p.name;
    let (app, deps) = if p.framework == Framework::Flask {
        (
            (
                "app.py",
                format!("from flask import Flask\n\napp = Flask(__name__)\n\n\n@app.get(\"/\")\ndef index():\n    return '<h1 id=\"title\">{title}</h1>'\n"),
            ),
            vec!["Flask==3.1.0".to_string()],
        )
    } else {
        (
            (
                "main.py",
                format!("from fastapi import FastAPI\nfrom fastapi.responses import HTMLResponse\n\napp = FastAPI()\n\n\n@app.get(\"/\", response_class=HTMLResponse)\ndef index():\n    return '<h1 id=\"title\">{title}</h1>'\n"),
            ),
            vec!["fastapi==0.115.12".to_string(), "uvicorn[standard]==0.34.2".to_string()],
        )
    };
    let requirements = deps.iter().chain(extra).map(|d| format!("{d}\n")).collect::<String>();
    let mut files = vec![
        (".gitignore".to_string(), ".venv/\n__pycache__/\n*.pyc\n".to_string()),
        (app.0.to_string(), app.1),
        ("requirements.txt".to_string(), requirements),
    ];
    files.sort();
    files
}
