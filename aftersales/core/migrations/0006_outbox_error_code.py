from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0005_referrals')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='error_code',
            field=fields.CharField(null=True, max_length=32),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='error_params',
            field=fields.JSONField(null=True),
        ),
    ]
