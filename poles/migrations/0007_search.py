"""The site search: its text table, and each database's own index of it.

SQLite: an FTS5 table reading the text table (external content), kept in step
by triggers. PostgreSQL: the unaccent extension, text search configurations
that ignore accents, and tsvector columns the database computes (generated),
under GIN indexes. Other databases get the text table only.
"""
from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations, models

COLUMNS = ["title", "body", "keywords", "title_en", "body_en", "keywords_en"]

SQLITE_FORWARD = [
    # remove_diacritics 2 folds every accent; prefix indexes speed up "lav"*.
    "CREATE VIRTUAL TABLE poles_searchentry_fts USING fts5({}, content='poles_searchentry', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2', prefix='2 3')".format(", ".join(COLUMNS)),
    "CREATE TRIGGER poles_searchentry_fts_insert AFTER INSERT ON poles_searchentry BEGIN"
    " INSERT INTO poles_searchentry_fts(rowid, {0}) VALUES (new.id, {1}); END".format(
        ", ".join(COLUMNS), ", ".join(f"new.{c}" for c in COLUMNS)),
    "CREATE TRIGGER poles_searchentry_fts_delete AFTER DELETE ON poles_searchentry BEGIN"
    " INSERT INTO poles_searchentry_fts(poles_searchentry_fts, rowid, {0}) VALUES ('delete', old.id, {1}); END".format(
        ", ".join(COLUMNS), ", ".join(f"old.{c}" for c in COLUMNS)),
    "CREATE TRIGGER poles_searchentry_fts_update AFTER UPDATE ON poles_searchentry BEGIN"
    " INSERT INTO poles_searchentry_fts(poles_searchentry_fts, rowid, {0}) VALUES ('delete', old.id, {1});"
    " INSERT INTO poles_searchentry_fts(rowid, {0}) VALUES (new.id, {2}); END".format(
        ", ".join(COLUMNS), ", ".join(f"old.{c}" for c in COLUMNS), ", ".join(f"new.{c}" for c in COLUMNS)),
]
SQLITE_BACKWARD = [
    "DROP TRIGGER poles_searchentry_fts_update",
    "DROP TRIGGER poles_searchentry_fts_delete",
    "DROP TRIGGER poles_searchentry_fts_insert",
    "DROP TABLE poles_searchentry_fts",
]


def vector(stemmed, suffix=""):
    """Title (weight A), text (B) and related names (C), each both stemmed in the
    language and word for word (so that a prefix typed past the stem still matches)."""
    parts = []
    for column, weight in (("title", "A"), ("body", "B"), ("keywords", "C")):
        for config in (stemmed, "simple_unaccent"):
            parts.append(f"setweight(to_tsvector('{config}', {column}{suffix}), '{weight}')")
    return " || ".join(parts)


POSTGRESQL_FORWARD = [
    *(
        statement
        for name, dictionary in (("french", "french_stem"), ("english", "english_stem"), ("simple", "simple"))
        for statement in (
            f"CREATE TEXT SEARCH CONFIGURATION {name}_unaccent (COPY = {name})",
            f"ALTER TEXT SEARCH CONFIGURATION {name}_unaccent"
            f" ALTER MAPPING FOR hword, hword_part, word WITH unaccent, {dictionary}",
        )
    ),
    f"ALTER TABLE poles_searchentry ADD COLUMN search_fr tsvector GENERATED ALWAYS AS ({vector('french_unaccent')}) STORED",
    f"ALTER TABLE poles_searchentry ADD COLUMN search_en tsvector GENERATED ALWAYS AS ({vector('english_unaccent', '_en')}) STORED",
    "CREATE INDEX poles_searchentry_search_fr ON poles_searchentry USING gin (search_fr)",
    "CREATE INDEX poles_searchentry_search_en ON poles_searchentry USING gin (search_en)",
]
POSTGRESQL_BACKWARD = [
    "ALTER TABLE poles_searchentry DROP COLUMN search_en",
    "ALTER TABLE poles_searchentry DROP COLUMN search_fr",
    *(f"DROP TEXT SEARCH CONFIGURATION {name}_unaccent" for name in ("french", "english", "simple")),
]


def run(statements):
    def operation(apps, schema_editor):
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ('poles', '0006_french_constraint_messages'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('pole', 'pôle'), ('project', 'projet'), ('theme', 'thématique'), ('territory', 'territoire'), ('page', 'page')], max_length=20, verbose_name='type')),
                ('object_id', models.PositiveBigIntegerField(verbose_name='identifiant')),
                ('slug', models.CharField(max_length=200, verbose_name="identifiant d'adresse")),
                ('detail', models.CharField(blank=True, max_length=300, verbose_name='précision')),
                ('title', models.TextField(verbose_name='titre')),
                ('body', models.TextField(blank=True, verbose_name='texte')),
                ('keywords', models.TextField(blank=True, verbose_name='mots liés')),
                ('title_en', models.TextField(verbose_name='titre (anglais)')),
                ('body_en', models.TextField(blank=True, verbose_name='texte (anglais)')),
                ('keywords_en', models.TextField(blank=True, verbose_name='mots liés (anglais)')),
            ],
            options={
                'verbose_name': "entrée de l'index de recherche",
                'verbose_name_plural': 'index de recherche',
                'constraints': [models.UniqueConstraint(fields=('kind', 'object_id'), name='search_entry_unique_object')],
            },
        ),
        UnaccentExtension(),
        migrations.RunPython(
            run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
    ]
