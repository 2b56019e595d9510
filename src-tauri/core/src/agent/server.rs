//! The MCP server side of [`AuraTools`]: what Aura says it is, each tool call wrapped in the
//! activity log, the policy and cancellation, and the project's files as resources.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::activity::{describe_arguments, shorten, AgentCall};
use super::tools::*;
use crate::workspace::files;

impl ServerHandler for AuraTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("aura", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Aura's open project. Paths are relative to the project root. Commands run in the \
                 project's sandbox, never on the host. Writes are saved like editor saves and can be \
                 undone by the user.",
            )
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tool = request.name.to_string();
        if super::policy::class_of(&tool).is_none() {
            return Err(ErrorData::invalid_params(format!("unknown tool '{tool}'"), None));
        }
        let call = CallCtx { id: self.agent.next_call_id(), denied: Arc::default(), cancelled: context.ct.clone() };
        context.extensions.insert(call.clone());
        let started = Instant::now();
        let mut entry = AgentCall {
            id: call.id,
            tool: tool.clone(),
            arguments: describe_arguments(&request.arguments.clone().unwrap_or_default()),
            outcome: "running".into(),
            summary: String::new(),
            started_ms: crate::store::now_ms(),
            duration_ms: 0,
        };
        self.agent.record(entry.clone());
        let res = self.tool_router.call(ToolCallContext::new(self, request, context)).await;
        entry.duration_ms = started.elapsed().as_millis() as u64;
        (entry.outcome, entry.summary) = match &res {
            Ok(CallToolResponse::Complete(r)) => {
                let text = first_text(r);
                let outcome = match (r.is_error, call.denied.load(Ordering::Relaxed)) {
                    (_, true) => "denied",
                    (Some(true), _) => "error",
                    _ => "ok",
                };
                (outcome.into(), text)
            }
            Ok(_) => ("ok".into(), String::new()),
            Err(e) => ("error".into(), e.message.to_string()),
        };
        self.agent.record(entry);
        res
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListToolsResult, ErrorData> {
        Ok(rmcp::model::ListToolsResult::with_all_items(self.tool_router.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<rmcp::model::Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let items = self
            .blocking(|root| {
                let (lines, _) = walk(&root, "", false, LIST_DEFAULT).map_err(err)?;
                Ok(lines
                    .into_iter()
                    .filter(|l| !l.ends_with('/'))
                    .map(|p| Resource::new(format!("{RESOURCE_PREFIX}{p}"), p).with_mime_type("text/plain"))
                    .collect::<Vec<_>>())
            })
            .await
            .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(ListResourcesResult::with_all_items(items))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.to_string();
        let Some(path) = uri.strip_prefix(RESOURCE_PREFIX).map(str::to_string) else {
            return Err(ErrorData::resource_not_found(format!("'{uri}' is not an {RESOURCE_PREFIX} resource"), None));
        };
        let text = self
            .blocking(move |root| files::read_file(&root, &path).map(|c| c.text).map_err(err))
            .await
            .map_err(|e| ErrorData::resource_not_found(e, None))?;
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri)]).into())
    }
}

fn first_text(r: &CallToolResult) -> String {
    let text: String = r
        .content
        .iter()
        .filter_map(|c: &ContentBlock| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n");
    let head: Vec<&str> = text.lines().take(6).collect();
    shorten(&head.join("\n"))
}
