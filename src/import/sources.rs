//! Where each imported secret's value comes from: the mapping, a source apply recorded, a
//! value match, a name match, or a placeholder.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::document::BitwardenSpec;
use crate::model::span::Located;
use crate::model::{Address, FolderPath, GenerateRule, ProjectSlug, SecretValue};
use crate::plan::LiveState;

use super::matching::NameMatch;
use super::{
    Ambiguity, Catalog, ChoiceReason, Chooser, ImportError, ImportOptions, ImportReport, Mapping,
    ValueHolder,
};

/// Where one secret's value comes from, in the generated file.
#[derive(Debug, Clone)]
pub(super) enum Source {
    Bitwarden(BitwardenSpec),
    /// A Bitwarden Secrets Manager secret, by id.
    SecretsManager(String),
    Generate(GenerateRule),
    Literal(String),
    Todo(String),
}

/// What the first pass decided for a secret.
pub(super) enum Pending {
    Decided(Source),
    /// Several items hold the value, none named like the secret: decided in the second pass
    /// (same Bitwarden folder as the secret's neighbours, then the chooser).
    ValueChoice(Vec<ValueHolder>),
}
/// Every secret's source, counted in `report`. Two passes: the first decides every secret it
/// can on its own; the second settles values held by several items, preferring the Bitwarden
/// folder that the other secrets of the same Infisical folder were found in.
pub(super) fn decide_sources(
    live: &LiveState,
    mapping: &Mapping,
    catalog: Option<&Catalog>,
    chooser: &mut dyn Chooser,
    options: &ImportOptions,
    report: &mut ImportReport,
) -> Result<BTreeMap<Address, Source>, ImportError> {
    let mut ambiguities = Vec::new();
    // One choice per ambiguous name or candidate set, so a key in three environments is asked
    // once.
    let mut chosen: BTreeMap<(ChoiceReason, Vec<String>), Option<String>> = BTreeMap::new();
    let mut used_mappings = BTreeSet::new();
    let mut pending: BTreeMap<Address, Pending> = BTreeMap::new();

    for (slug, project) in &live.projects {
        for (env_slug, environment) in &project.environments {
            for ((path, key), secret) in &environment.secrets {
                let address =
                    Address::Secret(slug.clone(), env_slug.clone(), path.clone(), key.clone());
                let decision = if let Some(entry) = mapping.get(&address) {
                    used_mappings.insert(address.clone());
                    report.mapped += 1;
                    Pending::Decided(Source::Bitwarden(entry.to_spec()))
                } else if let Some(source) = recorded_source(&address, secret, catalog, report) {
                    Pending::Decided(source)
                } else {
                    match value_match(&address, secret, catalog, options) {
                        Some(Pending::Decided(source)) => {
                            report.matched_by_value += 1;
                            Pending::Decided(source)
                        }
                        Some(other) => other,
                        None => Pending::Decided(name_match(
                            &address,
                            catalog,
                            options,
                            chooser,
                            &mut chosen,
                            &mut ambiguities,
                            report,
                        )),
                    }
                };
                pending.insert(address, decision);
            }
        }
    }

    let neighbours = neighbour_folders(&pending, catalog);

    let mut sources = BTreeMap::new();
    for (address, decision) in pending {
        let source = match decision {
            Pending::Decided(source) => source,
            Pending::ValueChoice(holders) => settle_value_choice(
                &address,
                &holders,
                &neighbours,
                chooser,
                &mut chosen,
                &mut ambiguities,
                report,
            ),
        };
        if matches!(source, Source::Todo(_)) {
            report.placeholders.push(address.clone());
        }
        sources.insert(address, source);
    }
    if !ambiguities.is_empty() {
        ambiguities.sort_by(|a, b| a.address.cmp(&b.address));
        return Err(ImportError::Ambiguous(ambiguities));
    }
    for address in mapping.addresses() {
        if !used_mappings.contains(address) {
            report.warnings.push(format!(
                "{address}: mapping entry matches no imported secret"
            ));
        }
    }
    Ok(sources)
}

/// The Bitwarden folders each Infisical folder's secrets were found in.
fn neighbour_folders(
    pending: &BTreeMap<Address, Pending>,
    catalog: Option<&Catalog>,
) -> BTreeMap<(ProjectSlug, FolderPath), BTreeSet<String>> {
    let mut neighbours: BTreeMap<(ProjectSlug, FolderPath), BTreeSet<String>> = BTreeMap::new();
    if let Some(catalog) = catalog {
        for (address, decision) in pending {
            if let (
                Address::Secret(project, _, path, _),
                Pending::Decided(Source::Bitwarden(reference)),
            ) = (address, decision)
                && let Some(folder) = reference
                    .item
                    .as_ref()
                    .and_then(|item| catalog.folder_of(&item.value))
            {
                neighbours
                    .entry((project.clone(), path.clone()))
                    .or_default()
                    .insert(folder.to_string());
            }
        }
    }
    neighbours
}

/// The second pass for a value several items hold: the one holder in the Bitwarden folder of the
/// secret's neighbours, else the chooser's pick, else a placeholder (and an ambiguity).
fn settle_value_choice(
    address: &Address,
    holders: &[ValueHolder],
    neighbours: &BTreeMap<(ProjectSlug, FolderPath), BTreeSet<String>>,
    chooser: &mut dyn Chooser,
    chosen: &mut BTreeMap<(ChoiceReason, Vec<String>), Option<String>>,
    ambiguities: &mut Vec<Ambiguity>,
    report: &mut ImportReport,
) -> Source {
    let folders = match address {
        Address::Secret(project, _, path, _) => neighbours.get(&(project.clone(), path.clone())),
        _ => None,
    };
    let near: Vec<&ValueHolder> = holders
        .iter()
        .filter(|h| {
            h.folder
                .as_ref()
                .is_some_and(|f| folders.is_some_and(|set| set.contains(f)))
        })
        .collect();
    let picked = if let [one] = near.as_slice() {
        Some((*one).clone())
    } else {
        let ids: Vec<String> = holders.iter().map(|h| h.item.clone()).collect();
        let choice = chosen
            .entry((ChoiceReason::Value, ids.clone()))
            .or_insert_with(|| chooser.choose(address, &ChoiceReason::Value, &ids))
            .clone();
        match choice.and_then(|id| holders.iter().find(|h| h.item == id)) {
            Some(holder) => Some(holder.clone()),
            None => {
                ambiguities.push(Ambiguity {
                    address: address.clone(),
                    reason: ChoiceReason::Value,
                    candidates: ids,
                });
                None
            }
        }
    };
    match picked {
        Some(holder) => {
            report.matched_by_value += 1;
            holder_source(&holder)
        }
        None => Source::Todo(String::new()),
    }
}

/// The source apply recorded on a secret it manages: `generate` from
/// `infisical-gitops/generate` (when the live value fits the rule), `value` from
/// `infisical-gitops/literal: true` (unless a *sensitive* Bitwarden field in scope holds the
/// value, a password, notes, hidden custom field or Secrets Manager value: then it is a secret,
/// and the value match decides; a URI or username holding it does not count, so a literal URL
/// stays a literal). The recorded source comes before value matching. Records on unmarked
/// secrets are ignored: only a secret this tool writes carries its records.
pub(super) fn recorded_source(
    address: &Address,
    secret: &crate::plan::LiveSecret,
    catalog: Option<&Catalog>,
    report: &mut ImportReport,
) -> Option<Source> {
    use crate::plan::ownership::{GENERATE_KEY, LITERAL_KEY, LITERAL_VALUE, parse_generate_record};
    if !secret.is_marked() {
        return None;
    }
    if let Some(record) = secret.metadata.get(GENERATE_KEY) {
        let Some(rule) = parse_generate_record(record) else {
            report.warnings.push(format!(
                "{address}: the metadata `{GENERATE_KEY}` is not a rule this tool writes; the secret is matched like an unmanaged one"
            ));
            return None;
        };
        if let Some(value) = &secret.value
            && !fits_rule(value, &rule)
        {
            report.warnings.push(format!(
                "{address}: the value does not fit its recorded rule `{}` (changed by hand?); the secret is matched like an unmanaged one",
                crate::plan::ownership::generate_record(&rule)
            ));
            return None;
        }
        report.generated += 1;
        return Some(Source::Generate(rule));
    }
    if secret.metadata.get(LITERAL_KEY).map(String::as_str) == Some(LITERAL_VALUE) {
        let value = secret.value.as_ref()?;
        if value.is_blank() {
            return None;
        }
        if catalog.is_some_and(|c| c.holds_sensitive_value(value)) {
            report.warnings.push(format!(
                "{address}: recorded as a non-sensitive literal, but a sensitive bitwarden field holds its value; it is imported as a reference, not as a literal"
            ));
            return None;
        }
        report.literals.push(address.clone());
        return Some(Source::Literal(value.expose().to_string()));
    }
    None
}

/// Whether `value` could have been made by `rule`: its length and alphabet.
pub(super) fn fits_rule(value: &SecretValue, rule: &GenerateRule) -> bool {
    let alphabet = crate::resolve::generate::alphabet(rule.charset);
    let text = value.expose();
    text.len() == rule.length as usize && text.bytes().all(|b| alphabet.contains(&b))
}

/// The value match: `None` when no field holds the value (or value matching is off).
pub(super) fn value_match(
    address: &Address,
    secret: &crate::plan::LiveSecret,
    catalog: Option<&Catalog>,
    options: &ImportOptions,
) -> Option<Pending> {
    if !options.matching.by_value() {
        return None;
    }
    let holders = catalog?.find_by_value(secret.value.as_ref()?);
    match holders.as_slice() {
        [] => None,
        [one] => Some(Pending::Decided(holder_source(one))),
        many => {
            // The most specific: an item (or Secrets Manager secret) named like the secret.
            let names = Catalog::names_for(address);
            let named: Vec<&ValueHolder> =
                many.iter().filter(|h| names.contains(&h.name)).collect();
            match named.as_slice() {
                [one] => Some(Pending::Decided(holder_source(one))),
                _ => Some(Pending::ValueChoice(holders)),
            }
        }
    }
}

/// The source written for a value holder: a Secrets Manager reference or a Password Manager one.
pub(super) fn holder_source(holder: &ValueHolder) -> Source {
    if holder.secrets_manager {
        Source::SecretsManager(holder.item.clone())
    } else {
        Source::Bitwarden(holder.to_spec())
    }
}

/// The name match, then the placeholder.
pub(super) fn name_match(
    address: &Address,
    catalog: Option<&Catalog>,
    options: &ImportOptions,
    chooser: &mut dyn Chooser,
    chosen: &mut BTreeMap<(ChoiceReason, Vec<String>), Option<String>>,
    ambiguities: &mut Vec<Ambiguity>,
    report: &mut ImportReport,
) -> Source {
    let key = match address {
        Address::Secret(_, _, _, key) => key.to_string(),
        _ => String::new(),
    };
    let Some(catalog) = catalog else {
        return Source::Todo("fill in a bitwarden reference".to_string());
    };
    if !options.matching.by_name() {
        return Source::Todo(format!(
            "fill in a bitwarden reference (no field in {} holds this value)",
            catalog.scope_label()
        ));
    }
    match catalog.find(address) {
        NameMatch::One { item, field } => {
            report.matched_by_name += 1;
            Source::Bitwarden(reference(item, field))
        }
        NameMatch::Ambiguous { name, candidates } => {
            let reason = ChoiceReason::Name(name);
            let choice = chosen
                .entry((reason.clone(), Vec::new()))
                .or_insert_with(|| chooser.choose(address, &reason, &candidates))
                .clone();
            match choice {
                Some(item) => {
                    report.matched_by_name += 1;
                    let field = catalog.field_for(&item);
                    Source::Bitwarden(reference(item, field))
                }
                None => {
                    ambiguities.push(Ambiguity {
                        address: address.clone(),
                        reason,
                        candidates,
                    });
                    Source::Todo(String::new())
                }
            }
        }
        NameMatch::None if options.matching.by_value() => Source::Todo(format!(
            "fill in a bitwarden reference (no field holds this value, and no item is named `{key}` or `{address}` in {})",
            catalog.scope_label()
        )),
        NameMatch::None => Source::Todo(format!(
            "fill in a bitwarden reference (no item named `{key}` or `{address}` in {})",
            catalog.scope_label()
        )),
    }
}

pub(super) fn reference(
    item: String,
    field: Option<crate::model::document::BitwardenField>,
) -> BitwardenSpec {
    BitwardenSpec {
        item: Some(Located::unplaced(item)),
        field: field.map(Located::unplaced),
        ..BitwardenSpec::default()
    }
}
