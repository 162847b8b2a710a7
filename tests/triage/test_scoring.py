"""rank_services: the catalog matcher reused for lookups and human edits."""

from __future__ import annotations

from agent.pagerduty.catalog import Catalog
from agent.triage import rank_services
from agent.triage.scoring import clear_winner
from agent.triage.text import stem, terms


def test_component_identifier_matches_as_a_prefix(dev_catalog):
    ranked = rank_services("instance=pg-main-replica-1", dev_catalog)
    assert ranked[0].id == "PPG0001"
    assert "pg-main" in ranked[0].why


def test_exact_name_ranks_first_and_explains_why(dev_catalog):
    ranked = rank_services("Mobile API", dev_catalog)
    assert ranked[0].id == "PMOB002"
    assert clear_winner(ranked) is not None
    assert "Mobile API" in ranked[0].why


def test_generic_words_alone_match_nothing(dev_catalog):
    assert rank_services("the service is failing with errors (critical)", dev_catalog) == []


def test_shared_words_are_ambiguous(dev_catalog):
    # "api" is in three service names: no clear winner
    assert clear_winner(rank_services("api", dev_catalog)) is None


def test_empty_catalog_and_single_service_catalog(dev_catalog):
    assert rank_services("anything", Catalog(services=[])) == []
    one = Catalog(services=[dev_catalog.service("PEDG001")])
    ranked = rank_services("Envoy 503s", one)
    assert clear_winner(ranked).id == "PEDG001"


def test_tokeniser_splits_camel_case_and_folds_phrases():
    assert {"postgres", "replication", "lag"} <= set(terms("PostgresReplicationLag"))
    assert "login" in terms("users cannot log in")
    assert stem("renders") == stem("rendering") == "render"
    assert stem("logs") == stem("logging") == "log"
    assert stem("postgres") == "postgres"
