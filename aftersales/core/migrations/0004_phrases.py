from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from aftersales.core.models import PhraseCategory
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0003_session_generation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Phrase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=128)),
                ('body', fields.TextField(unique=False)),
                ('category', fields.CharEnumField(db_index=True, description='GREETING: greeting\nAPPROVE: approve\nREFUSE: refuse\nASK_PHOTOS: ask_photos\nWHERE_IS_PARCEL: where_is_parcel\nAPOLOGY: apology\nRETURN_ADDRESS: return_address\nREVIEW_EXPLANATION: review_explanation', enum_type=PhraseCategory, max_length=24)),
                ('language', fields.CharField(default='zh-CN', max_length=8)),
                ('owner', fields.ForeignKeyField('core.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('assumes', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('usage_count', fields.IntField(default=0)),
                ('seed_key', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'phrases', 'app': 'core', 'pk_attr': 'id', 'table_description': 'A quick reply an agent inserts into a reply or note (the team\'s, or one agent\'s own).'},
            bases=['Model'],
        ),
    ]
