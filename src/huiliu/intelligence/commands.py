"""``huiliu eval`` and ``huiliu train`` (registered in huiliu.cli). scikit-learn is imported when a
command runs, not when the CLI starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from huiliu.core.errors import ValidationFailed
from huiliu.settings import get_settings

HOLDOUT_FRACTION = 0.2


def eval_command(
    file: Annotated[
        Path | None,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="Labelled JSONL file to evaluate on."
        ),
    ] = None,
    holdout: Annotated[
        int | None,
        typer.Option(
            "--holdout",
            help="Train on the dataset minus a held-out 20% split made with this seed and evaluate on it.",
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model file (default: the configured one).")
    ] = None,
) -> None:
    """Per-class precision / recall / F1 and confusion matrices of the ticket classifier."""
    from huiliu.intelligence.dataset import load_dataset, load_jsonl, split
    from huiliu.intelligence.evaluation import evaluate, render
    from huiliu.intelligence.model import TicketClassifier
    from huiliu.intelligence.store import ModelStore

    console = Console()
    settings = get_settings()
    if (file is None) == (holdout is None):
        console.print("[red]Give either a JSONL FILE or --holdout SEED.[/red]")
        raise typer.Exit(2)
    try:
        if holdout is not None:
            train, test = split(load_dataset(settings.classifier_dataset_dir), holdout, HOLDOUT_FRACTION)
            classifier = TicketClassifier.train(train, seed=holdout)
            title = f"Held-out split (seed {holdout}): trained on {len(train)}, evaluated on {len(test)}"
        else:
            assert file is not None
            test = load_jsonl(file)
            store = ModelStore(model or settings.classifier_model_path, settings.classifier_dataset_dir)
            classifier = store.get()
            title = f"{file.name}: {len(test)} examples, model trained on {classifier.card.examples}"
    except ValidationFailed as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(1) from error
    if not test:
        console.print("[red]No examples to evaluate.[/red]")
        raise typer.Exit(1)
    render(evaluate(classifier, test), console, title)


def train_command(
    holdout: Annotated[
        int,
        typer.Option(
            "--holdout", help="Seed of the held-out split the model card's metrics are measured on."
        ),
    ] = 20261130,
    model: Annotated[
        Path | None, typer.Option("--model", help="Model file (default: the configured one).")
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant",
            help="Learning mode: retrain this tenant (slug) on the dataset plus its agents' corrections; "
            "promoted only if better.",
        ),
    ] = None,
) -> None:
    """Retrain the ticket classifier from the dataset and replace the model file. The model card
    records held-out metrics (a model trained without the split, scored on it). With ``--tenant``,
    learning mode for that tenant (docs/intelligence.md)."""
    if tenant is not None:
        _train_tenant(tenant, holdout)
        return
    from huiliu.intelligence.dataset import load_dataset, split
    from huiliu.intelligence.evaluation import evaluate
    from huiliu.intelligence.model import TicketClassifier
    from huiliu.intelligence.store import ModelStore, save

    console = Console()
    settings = get_settings()
    try:
        examples = load_dataset(settings.classifier_dataset_dir)
    except ValidationFailed as error:
        console.print(f"[red]{error.detail}[/red]")
        raise typer.Exit(1) from error
    train, test = split(examples, holdout, HOLDOUT_FRACTION)
    reports = evaluate(TicketClassifier.train(train, seed=holdout), test)
    store = ModelStore(model or settings.classifier_model_path, settings.classifier_dataset_dir)
    classifier = store.retrain()
    classifier.card.metrics = {
        "holdout_seed": holdout,
        "holdout_examples": len(test),
        **{target: report.summary() for target, report in reports.items()},
    }
    save(classifier, store.path)
    console.print(f"Trained on {classifier.card.examples} examples -> {store.path}")
    for target, report in reports.items():
        console.print(f"  {target}: held-out macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
    urgent = reports["priority"].score("urgent") if "urgent" in reports["priority"].labels else None
    if urgent is not None:
        console.print(f"  urgent recall {urgent.recall:.3f}")


def _train_tenant(slug: str, seed: int) -> None:
    import asyncio

    from sqlalchemy import select

    from huiliu.auth.models import Tenant
    from huiliu.db.migrate import upgrade
    from huiliu.intelligence.learning import retrain_tenant
    from huiliu.runtime import Runtime

    console = Console()
    settings = get_settings()
    upgrade(settings.database_url)

    async def run() -> dict[str, object] | None:
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            async with runtime.db.read(None, system=True) as session:
                tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if tenant_id is None:
                return None
            return await retrain_tenant(runtime.db, settings, tenant_id, seed)
        finally:
            await runtime.stop()

    card = asyncio.run(run())
    if card is None:
        console.print(f"[red]No tenant with the slug {slug!r}.[/red]")
        raise typer.Exit(1)
    console.print(f"{'Promoted' if card['promoted'] else 'Not promoted'}: {card['reason']}")
    console.print(f"  data: {card['data']}")
    console.print(f"  baseline:  {card['baseline']}")
    console.print(f"  candidate: {card['candidate']}")
