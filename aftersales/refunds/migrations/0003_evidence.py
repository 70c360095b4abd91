from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.refunds.models import EvidenceKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_locale'), ('orders', '0003_report_indexes'), ('refunds', '0002_report_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RefundEvidence',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('refund', fields.ForeignKeyField('refunds.Refund', source_field='refund_id', db_constraint=True, to_field='id', related_name='evidence', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PHOTO: photo\nCHAT: chat\nNOTE: note', enum_type=EvidenceKind, max_length=16)),
                ('text', fields.TextField(default='', unique=False)),
                ('file_name', fields.CharField(default='', max_length=255)),
                ('stored_as', fields.CharField(default='', max_length=255)),
                ('content_type', fields.CharField(default='', max_length=64)),
                ('size', fields.IntField(default=0)),
                ('added_by', fields.ForeignKeyField('core.User', source_field='added_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('added_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'refund_evidence', 'app': 'refunds', 'pk_attr': 'id', 'table_description': "What the shop shows the platform's arbitrator (平台介入): photos, chat, notes."},
            bases=['Model'],
        ),
    ]
