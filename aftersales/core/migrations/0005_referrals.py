from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.core.models import Role
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_phrases')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Referral',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('module', fields.CharField(max_length=32)),
                ('kind', fields.CharField(max_length=32)),
                ('case_id', fields.IntField()),
                ('open_ref', fields.CharField(null=True, unique=True, max_length=100)),
                ('amount', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('currency', fields.CharField(default='', max_length=3)),
                ('from_user', fields.ForeignKeyField('core.User', source_field='from_user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('note', fields.TextField(default='', unique=False)),
                ('to_role', fields.CharEnumField(default=Role.SUPERVISOR, description='AGENT: agent\nNIGHT_AGENT: night_agent\nSUPERVISOR: supervisor\nOWNER: owner\nADMIN: admin', enum_type=Role, max_length=16)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_by', fields.ForeignKeyField('core.User', source_field='closed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('outcome', fields.CharField(default='', max_length=32)),
            ],
            options={'table': 'referrals', 'app': 'core', 'indexes': [Index(fields=['module', 'kind', 'case_id'])], 'pk_attr': 'id', 'table_description': 'A case sent to a supervisor for a decision its sender may not take alone.'},
            bases=['Model'],
        ),
    ]
