//! Import cycles between the modules of a crate, found from its source.
//!
//! A crate is layered when, among the children of any one module, the references run one
//! way: if something under `store` names something under `ingest`, nothing under `ingest`
//! may name anything under `store`. A parent and its own children are not compared (a
//! parent re-exports its children and a child may use its parent's types); siblings are,
//! with everything below each of them counted as part of it. Test code (`#[cfg(test)]`
//! items) is left out: a test may reach anywhere.
//!
//! [`Crate::read`] follows `mod` declarations from the crate root as the compiler does,
//! [`Crate::cycles`] lists each group of siblings that reach each other, with a reference
//! that makes each edge so it can be found and removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// Why a crate could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayersError {
    /// A source file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A source file is not Rust the parser understands.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A `mod name;` whose file is in neither place the compiler looks.
    #[error("{declared_in} declares `mod {name};` but neither {name}.rs nor {name}/mod.rs exists next to it")]
    MissingModule {
        /// The declaring file.
        declared_in: String,
        /// The module's name.
        name: String,
    },
}

/// A module's path from the crate root: `["auth", "api"]` for `crate::auth::api`.
pub type ModulePath = Vec<String>;

/// One reference from a module to another: where it is written and what it names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    /// The module the reference is written in.
    pub from: ModulePath,
    /// The module it names.
    pub to: ModulePath,
    /// The file it is written in, relative to the crate root's directory.
    pub file: String,
    /// The path as written, `crate::api::ApiError`.
    pub written: String,
}

/// The modules of a crate and every reference between them.
#[derive(Debug, Default)]
pub struct Crate {
    modules: BTreeSet<ModulePath>,
    references: Vec<Reference>,
}

/// A group of sibling modules that reach each other.
#[derive(Debug, PartialEq, Eq)]
pub struct Cycle {
    /// The module whose children they are (empty for the crate root).
    pub parent: ModulePath,
    /// The siblings in the cycle, by name.
    pub members: Vec<String>,
    /// For each edge between members, one reference that makes it.
    pub edges: Vec<(String, String, Reference)>,
}

impl fmt::Display for Cycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = if self.parent.is_empty() {
            "crate".to_string()
        } else {
            format!("crate::{}", self.parent.join("::"))
        };
        writeln!(
            f,
            "in {parent}: {} reach each other",
            self.members.join(", ")
        )?;
        for (from, to, r) in &self.edges {
            writeln!(f, "  {from} -> {to}: {} names {}", r.file, r.written)?;
        }
        Ok(())
    }
}

impl Crate {
    /// Reads the crate whose root file is `root` (`src/lib.rs` or `src/main.rs`).
    pub fn read(root: &Path) -> Result<Crate, LayersError> {
        let base = root.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut krate = Crate::default();
        krate.read_file(&base, root, Vec::new(), &base)?;
        Ok(krate)
    }

    /// Every module found, the root included.
    pub fn modules(&self) -> &BTreeSet<ModulePath> {
        &self.modules
    }

    /// Every reference between two different modules.
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// Reads `file`, the module at `path`, whose children live in `dir`.
    fn read_file(
        &mut self,
        base: &Path,
        file: &Path,
        path: ModulePath,
        dir: &Path,
    ) -> Result<(), LayersError> {
        let text = std::fs::read_to_string(file).map_err(|source| LayersError::Read {
            path: file.to_path_buf(),
            source,
        })?;
        let parsed = syn::parse_file(&text).map_err(|e| LayersError::Parse {
            path: file.to_path_buf(),
            message: e.to_string(),
        })?;
        let shown = file
            .strip_prefix(base)
            .unwrap_or(file)
            .display()
            .to_string();
        self.read_items(base, &shown, &parsed.items, path, dir)
    }

    fn read_items(
        &mut self,
        base: &Path,
        file: &str,
        items: &[syn::Item],
        path: ModulePath,
        dir: &Path,
    ) -> Result<(), LayersError> {
        self.modules.insert(path.clone());
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            match item {
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    let mut child = path.clone();
                    child.push(name.clone());
                    match &m.content {
                        Some((_, inner)) => {
                            self.read_items(base, file, inner, child, &dir.join(&name))?;
                        }
                        None => {
                            let (child_file, child_dir) = child_file(dir, &name, &m.attrs)
                                .ok_or_else(|| LayersError::MissingModule {
                                    declared_in: file.to_string(),
                                    name: name.clone(),
                                })?;
                            self.read_file(base, &child_file, child, &child_dir)?;
                        }
                    }
                }
                other => {
                    let mut finder = PathFinder::default();
                    finder.visit_item(other);
                    for written in finder.paths {
                        if let Some(absolute) = absolute(&path, &written) {
                            self.references.push(Reference {
                                from: path.clone(),
                                to: absolute,
                                file: file.to_string(),
                                written: written.join("::"),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The module a reference names: the longest known module its path starts with.
    fn target(&self, absolute: &[String]) -> ModulePath {
        (0..=absolute.len())
            .rev()
            .map(|n| absolute[..n].to_vec())
            .find(|p| self.modules.contains(p))
            .unwrap_or_default()
    }

    /// The groups of siblings that reach each other, in module order.
    pub fn cycles(&self) -> Vec<Cycle> {
        // parent -> (from child, to child) -> first reference
        let mut levels: BTreeMap<ModulePath, BTreeMap<(String, String), Reference>> =
            BTreeMap::new();
        for r in &self.references {
            let to = self.target(&r.to);
            let common = r.from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            let (Some(a), Some(b)) = (r.from.get(common), to.get(common)) else {
                continue; // one contains the other
            };
            let resolved = Reference {
                to: to.clone(),
                ..r.clone()
            };
            levels
                .entry(r.from[..common].to_vec())
                .or_default()
                .entry((a.clone(), b.clone()))
                .or_insert(resolved);
        }
        let mut cycles = Vec::new();
        for (parent, edges) in levels {
            for group in strongly_connected(&edges) {
                let members: BTreeSet<&String> = group.iter().collect();
                let inside = edges
                    .iter()
                    .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                    .map(|((a, b), r)| (a.clone(), b.clone(), r.clone()))
                    .collect();
                cycles.push(Cycle {
                    parent: parent.clone(),
                    members: group,
                    edges: inside,
                });
            }
        }
        cycles
    }
}

/// Where the compiler finds `mod name;` declared in a module whose children live in `dir`:
/// a `#[path]` attribute, `dir/name.rs` or `dir/name/mod.rs`. Returns the file and the
/// directory its own children live in.
fn child_file(dir: &Path, name: &str, attrs: &[syn::Attribute]) -> Option<(PathBuf, PathBuf)> {
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if nv.path.is_ident("path") {
                if let syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    let file = dir.join(s.value());
                    let child_dir = file.parent().unwrap_or(dir).to_path_buf();
                    return file.is_file().then_some((file, child_dir));
                }
            }
        }
    }
    let flat = dir.join(format!("{name}.rs"));
    if flat.is_file() {
        return Some((flat, dir.join(name)));
    }
    let nested = dir.join(name).join("mod.rs");
    nested.is_file().then(|| (nested, dir.join(name)))
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Whether the attributes include `#[cfg(test)]`.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

/// The absolute path `written` names from the module at `here`, if it starts with
/// `crate`, `super` or `self`.
fn absolute(here: &[String], written: &[String]) -> Option<Vec<String>> {
    let mut at: Vec<String> = match written.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") | Some("super") => here.to_vec(),
        _ => return None,
    };
    let mut rest = written.iter().peekable();
    if written.first().map(String::as_str) == Some("crate") {
        rest.next();
    }
    while let Some(s) = rest.peek() {
        match s.as_str() {
            "self" => {
                rest.next();
            }
            "super" => {
                at.pop()?;
                rest.next();
            }
            _ => break,
        }
    }
    at.extend(rest.cloned());
    Some(at)
}

/// Every path an item writes: in `use` trees (one per leaf), in types and expressions,
/// and in macro bodies (`crate::…`, `super::…`, `self::…` token runs).
#[derive(Default)]
struct PathFinder {
    paths: Vec<Vec<String>>,
}

impl PathFinder {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.leaf(prefix, &n.ident),
            syn::UseTree::Rename(r) => self.leaf(prefix, &r.ident),
            syn::UseTree::Glob(_) => self.paths.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(prefix, tree);
                }
            }
        }
    }

    fn leaf(&mut self, prefix: &[String], ident: &syn::Ident) {
        let mut path = prefix.to_vec();
        if ident != "self" {
            path.push(ident.to_string());
        }
        self.paths.push(path);
    }

    fn tokens(&mut self, tokens: TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut colons = 0;
        for token in tokens {
            match token {
                TokenTree::Group(g) => {
                    self.flush(&mut run);
                    self.tokens(g.stream());
                }
                TokenTree::Ident(i) => {
                    let name = i.to_string();
                    if run.is_empty() || colons != 2 {
                        self.flush(&mut run);
                        if matches!(name.as_str(), "crate" | "super" | "self") {
                            run.push(name);
                        }
                    } else {
                        run.push(name);
                    }
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' => colons += 1,
                TokenTree::Punct(_) | TokenTree::Literal(_) => {
                    self.flush(&mut run);
                    colons = 0;
                }
            }
        }
        self.flush(&mut run);
    }

    fn flush(&mut self, run: &mut Vec<String>) {
        if run.len() > 1 {
            self.paths.push(std::mem::take(run));
        }
        run.clear();
    }
}

impl<'ast> Visit<'ast> for PathFinder {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if segments.len() > 1 {
            self.paths.push(segments);
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.tokens(mac.tokens.clone());
        syn::visit::visit_macro(self, mac);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // nested modules are read as modules of their own
    }

    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
}

/// The strongly connected groups of more than one node in the graph of `edges` (Tarjan),
/// each sorted, in order of their first member.
fn strongly_connected<V>(edges: &BTreeMap<(String, String), V>) -> Vec<Vec<String>> {
    let nodes: BTreeSet<&String> = edges.keys().flat_map(|(a, b)| [a, b]).collect();
    let index_of: BTreeMap<&String, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let names: Vec<&String> = nodes.into_iter().collect();
    let mut next = vec![Vec::new(); names.len()];
    for (a, b) in edges.keys() {
        if let (Some(&i), Some(&j)) = (index_of.get(a), index_of.get(b)) {
            next[i].push(j);
        }
    }
    let mut tarjan = Tarjan {
        next,
        index: vec![None; names.len()],
        low: vec![0; names.len()],
        on_stack: vec![false; names.len()],
        stack: Vec::new(),
        counter: 0,
        groups: Vec::new(),
    };
    for v in 0..names.len() {
        if tarjan.index[v].is_none() {
            tarjan.visit(v);
        }
    }
    let mut groups: Vec<Vec<String>> = tarjan
        .groups
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| {
            let mut members: Vec<String> = g.into_iter().map(|i| names[i].clone()).collect();
            members.sort();
            members
        })
        .collect();
    groups.sort();
    groups
}

struct Tarjan {
    next: Vec<Vec<usize>>,
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    groups: Vec<Vec<usize>>,
}

impl Tarjan {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.counter);
        self.low[v] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        for w in self.next[v].clone() {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(index) if self.on_stack[w] => self.low[v] = self.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut group = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            self.groups.push(group);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` (path, text) under a temporary directory and reads the crate.
    fn read(files: &[(&str, &str)]) -> Crate {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("layers-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("dir");
            std::fs::write(file, text).expect("written");
        }
        let krate = Crate::read(&dir.join("lib.rs")).expect("read");
        let _ = std::fs::remove_dir_all(&dir);
        krate
    }

    fn names(cycles: &[Cycle]) -> Vec<(String, Vec<String>)> {
        cycles
            .iter()
            .map(|c| (c.parent.join("::"), c.members.clone()))
            .collect()
    }

    #[test]
    fn siblings_that_name_each_other_are_a_cycle() {
        let krate = read(&[
            ("lib.rs", "pub mod api;\npub mod auth;\npub mod store;\n"),
            ("api.rs", "pub struct ApiError;\nuse crate::store::Store;\n"),
            ("auth.rs", "pub mod routes;\n"),
            (
                "auth/routes.rs",
                "fn f() -> crate::api::ApiError { todo!() }\n",
            ),
            ("store.rs", "pub struct Store;\n"),
        ]);
        assert!(krate.cycles().is_empty(), "one-way: auth -> api -> store");

        let krate = read(&[
            ("lib.rs", "pub mod api;\npub mod auth;\n"),
            (
                "api.rs",
                "use crate::{auth::{self, routes::Session}};\npub struct ApiError;\n",
            ),
            ("auth.rs", "pub mod routes;\n"),
            (
                "auth/routes.rs",
                "pub struct Session;\nfn f() -> crate::api::ApiError { todo!() }\n",
            ),
        ]);
        let cycles = krate.cycles();
        assert_eq!(
            names(&cycles),
            vec![(String::new(), vec!["api".into(), "auth".into()])]
        );
        let shown = cycles[0].to_string();
        assert!(
            shown.contains("auth -> api: auth/routes.rs names crate::api::ApiError"),
            "{shown}"
        );
        assert!(
            shown.contains("api -> auth: api.rs names crate::auth"),
            "{shown}"
        );
    }

    #[test]
    fn super_paths_macros_and_nested_levels_count() {
        let krate = read(&[
            ("lib.rs", "mod auth;\n"),
            (
                "auth/mod.rs",
                "mod api;\nmod extract;\npub struct Principal;\n",
            ),
            (
                "auth/api.rs",
                "fn f() { let _ = super::extract::user(); }\n",
            ),
            (
                "auth/extract.rs",
                "pub fn user() {}\nfn g() { view! { <super::api::Page/> } }\n",
            ),
        ]);
        assert_eq!(
            names(&krate.cycles()),
            vec![("auth".into(), vec!["api".into(), "extract".into()])]
        );
    }

    #[test]
    fn parents_children_and_tests_are_not_compared() {
        let krate = read(&[
            (
                "lib.rs",
                "pub mod api;\npub mod store;\npub use api::ApiError;\n",
            ),
            (
                "api.rs",
                "pub mod docs;\npub struct ApiError;\nuse docs::Docs;\n",
            ),
            (
                "api/docs.rs",
                "pub struct Docs;\nuse super::ApiError;\nuse crate::store::Store;\n",
            ),
            (
                "store.rs",
                "pub struct Store;\n#[cfg(test)]\nmod tests { use crate::api::ApiError; }\n\
                 #[cfg(test)]\nfn helper() -> crate::api::ApiError { todo!() }\n",
            ),
        ]);
        assert!(krate.cycles().is_empty(), "{:?}", krate.cycles());
        assert!(krate
            .modules()
            .contains(&vec!["api".to_string(), "docs".to_string()]));
    }

    #[test]
    fn a_missing_module_file_is_named() {
        let dir = std::env::temp_dir().join(format!("layers-missing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("lib.rs"), "mod gone;\n").expect("written");
        let err = Crate::read(&dir.join("lib.rs")).expect_err("missing");
        assert!(err.to_string().contains("mod gone;"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
